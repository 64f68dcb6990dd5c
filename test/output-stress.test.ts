// Output under load (SPEC §3, issue #4), on the built bundle with real programs and real pipes:
// whole lines in order at volume with writes cut anywhere, a line over 64 KiB, a 600 MB line with
// no newline at all, and a stdout reader that stalls. Big outputs are checked as a stream (never
// stored); ringmaster's RSS is read from /proc/<pid>/status every 100 ms. Every wait is bounded and
// every process is killed by its pid / process group.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { BUNDLE, Ringmaster, tempDir, writeConfig } from './support/ringmaster';

const MB = 1_000_000;

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** A generator script in a fresh temp dir. `fs`, `argv` and `out(buf, from, to)` are in scope:
 * `out` writes with fs.writeSync(1, …) and retries EAGAIN (the pipe may be non-blocking). */
function generator(body: string): string {
  const file = path.join(tempDir('rm-stress-'), 'gen.js');
  writeFileSync(
    file,
    `'use strict';
const fs = require('fs');
const argv = process.argv.slice(2);
function out(buf, from, to) {
  while (from < to) {
    try { from += fs.writeSync(1, buf, from, to - from); }
    catch (e) { if (e.code !== 'EAGAIN') throw e; Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }
  }
}
${body}
`,
  );
  return file;
}

function program(name: string, gen: string, ...args: Array<string | number>): string {
  return `  ${name}: {command: ${JSON.stringify([process.execPath, gen, ...args.map(String)])}, startsecs: 0, autorestart: false}`;
}
const config = (...programs: string[]) => `settings: {exit_policy: all}\nprograms:\n${programs.join('\n')}\n`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  peakMb: number;
  samples: number;
  /** Whether ringmaster was still running when a paused reader resumed. */
  aliveAtResume?: boolean;
}

/** Run ringmaster on `yaml` (in its own process group) and hand every stdout chunk to `onChunk`
 * as it comes; RSS sampled every 100 ms. `pauseMs`: do not read stdout at all for that long. */
function runStreaming(yaml: string, onChunk: (b: Buffer) => void, opts: { pauseMs?: number; timeoutMs: number }): Promise<Run> {
  const rm = spawn(process.execPath, [BUNDLE, '-c', writeConfig(yaml)], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const pid = rm.pid!;
  let peak = 0;
  let samples = 0;
  const sample = () => {
    const r = rssMb(pid);
    if (r !== null) {
      samples++;
      peak = Math.max(peak, r);
    }
  };
  const sampler = setInterval(sample, 100);
  const killer = setTimeout(() => {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, opts.timeoutMs);
  let aliveAtResume: boolean | undefined;
  let resumer: NodeJS.Timeout | undefined;
  if (opts.pauseMs) {
    rm.stdout!.pause(); // explicitly paused: adding the 'data' listener below does not resume it
    resumer = setTimeout(() => {
      aliveAtResume = rm.exitCode === null && rm.signalCode === null;
      rm.stdout!.resume();
    }, opts.pauseMs);
  }
  rm.stdout!.on('data', onChunk);
  return new Promise((resolve) =>
    rm.on('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(killer);
      clearTimeout(resumer);
      resolve({ code, signal, peakMb: peak, samples, aliveAtResume });
    }),
  );
}

/** Splits a chunk stream into lines and calls `onLine(buf, start, end)` (end = the '\n'). Lines
 * that do not start with `NAME | ` of `names` (padded to `width`) or `ringmaster | ` count in
 * `foreign`; `onLine` gets the offset of the body. */
function lineReader(names: string[], onLine: (name: string, buf: Buffer, body: number, end: number) => void) {
  const width = Math.max(...names.map((n) => n.length));
  const prefixes = names.map((n) => Buffer.from(`${n.padEnd(width)} | `, 'latin1'));
  const system = Buffer.from('ringmaster | ', 'latin1');
  const state = { foreign: 0, system: 0, firstForeign: '' };
  let rest: Buffer | null = null;
  const feed = (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let s = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, s)) {
      const k = prefixes.findIndex((p) => nl - s >= p.length && buf.compare(p, 0, p.length, s, s + p.length) === 0);
      if (k >= 0) onLine(names[k], buf, s + prefixes[k].length, nl);
      else if (nl - s >= system.length && buf.compare(system, 0, system.length, s, s + system.length) === 0) state.system++;
      else {
        state.foreign++;
        if (!state.firstForeign) state.firstForeign = buf.toString('latin1', s, Math.min(nl, s + 120));
      }
      s = nl + 1;
    }
    rest = s < buf.length ? Buffer.from(buf.subarray(s)) : null;
  };
  return { feed, state, leftover: () => rest?.length ?? 0 };
}

// ---------------------------------------------------------------------------------------------

// Line i of program p: "<p>:<i>:" then PATTERN[i % 26 ...] up to a total length of
// max(head, 1 + hash(p, i) % 3000) bytes: known from (p, i) alone, so checked byte for byte
// without storing anything. Written in writes of random size (1 byte to 16 KiB) that cut lines
// anywhere.
const PROGS = 4;
const LINES = 100_000;
const lineLen = (p: number, i: number) => 1 + (Math.imul(i + 1, 2654435761 >>> 0) + p * 40503 >>> 0) % 3000;
const PATTERN = Buffer.from(Array.from({ length: 3100 }, (_, k) => 97 + (k % 26)));

it(`${PROGS} programs x ${LINES.toLocaleString('en')} lines of 1-3000 bytes, writes cut anywhere: every line whole, prefixed, in order, none lost`, { timeout: 40_000 }, async (t) => {
  const gen = generator(`
const p = Number(argv[0]), N = Number(argv[1]);
const lineLen = ${lineLen.toString()};
const PATTERN = Buffer.from(Array.from({ length: 3100 }, (_, k) => 97 + (k % 26)));
const buf = Buffer.alloc(1 << 20);
let at = 0, seed = (p + 1) * 7919;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
function flush() {
  for (let o = 0; o < at; ) {
    const r = rnd();
    const n = Math.min(at - o, r % 4 === 0 ? 1 + (r >>> 8) % 16 : 1 + (r >>> 8) % 16384);
    out(buf, o, o + n);
    o += n;
  }
  at = 0;
}
for (let i = 0; i < N; i++) {
  const head = p + ':' + i + ':';
  const L = Math.max(lineLen(p, i), head.length);
  if (at + L + 1 > buf.length) flush();
  at += buf.write(head, at, 'latin1');
  at += PATTERN.copy(buf, at, i % 26, i % 26 + L - head.length);
  buf[at++] = 10;
}
flush();
`);
  const names = Array.from({ length: PROGS }, (_, p) => `g${p}`);
  const next = new Array(PROGS).fill(0);
  let wrong = 0;
  let firstWrong = '';
  let bytes = 0;
  const reader = lineReader(names, (name, buf, body, end) => {
    const p = Number(name.slice(1));
    const i = next[p]++;
    const head = `${p}:${i}:`;
    const L = Math.max(lineLen(p, i), head.length);
    bytes += end - body + 1;
    const ok =
      end - body === L &&
      buf.toString('latin1', body, body + head.length) === head &&
      buf.compare(PATTERN, i % 26, i % 26 + L - head.length, body + head.length, end) === 0;
    if (!ok) {
      wrong++;
      if (!firstWrong) firstWrong = `${name} line ${i}: ${buf.toString('latin1', body, Math.min(end, body + 80))}…`;
    }
  });
  const started = Date.now();
  const run = await runStreaming(config(...names.map((n, p) => program(n, gen, p, LINES))), reader.feed, { timeoutMs: 35_000 });
  t.diagnostic(`${(bytes / MB).toFixed(0)} MB of lines in ${((Date.now() - started) / 1000).toFixed(1)} s, RSS peak ${run.peakMb.toFixed(0)} MB`);
  assert.deepEqual({ code: run.code, signal: run.signal }, { code: 0, signal: null });
  assert.equal(reader.state.foreign, 0, `lines that are neither "gN | …" nor "ringmaster | …", first: ${reader.state.firstForeign}`);
  assert.equal(wrong, 0, `lines cut, mixed or out of order, first: ${firstWrong}`);
  assert.deepEqual(next, new Array(PROGS).fill(LINES), 'lines lost');
  assert.equal(reader.leftover(), 0, 'stdout ended inside a line');
});

it('a 200 KB line: printed as pieces of at most 65536 bytes that add up to it, then the next line', { timeout: 20_000 }, async () => {
  const SIZE = 200_000;
  // Printable bytes that vary with the offset, so a piece put in the wrong place shows.
  const gen = generator(`
const SIZE = Number(argv[0]);
const b = Buffer.alloc(SIZE + 1);
for (let k = 0; k < SIZE; k++) b[k] = 33 + ((k * 7 + (k >> 9)) % 94);
b[SIZE] = 10;
out(b, 0, b.length);
out(Buffer.from('after\\n'), 0, 6);
`);
  const expected = Buffer.alloc(SIZE);
  for (let k = 0; k < SIZE; k++) expected[k] = 33 + ((k * 7 + (k >> 9)) % 94);
  const rm = new Ringmaster({ args: ['-c', writeConfig(config(program('big', gen, SIZE)))] });
  const exit = await rm.wait(15_000);
  assert.deepEqual(exit, { code: 0, signal: null }, rm.stderr);
  const lines = rm.stdout.split('\n').filter((l) => l.startsWith('big | '));
  const bodies = lines.map((l) => l.slice('big | '.length));
  assert.ok(bodies.length >= Math.ceil(SIZE / 65536) + 1, `only ${bodies.length} lines`);
  assert.equal(bodies.at(-1), 'after');
  const pieces = bodies.slice(0, -1);
  for (const piece of pieces) assert.ok(Buffer.byteLength(piece) <= 65536, `a piece of ${Buffer.byteLength(piece)} bytes`);
  assert.equal(pieces.length, Math.ceil(SIZE / 65536), `pieces: ${pieces.map((x) => x.length).join(', ')}`);
  assert.ok(Buffer.from(pieces.join(''), 'latin1').equals(expected), 'the pieces do not add up to the line');
});

it('a 600 MB line with no newline at all: pieces of at most 65536 bytes add up to it (the tail at exit), RSS under 150 MB', { timeout: 40_000 }, async (t) => {
  const SIZE = 600 * MB; // not a multiple of 65536: the last piece is the partial line flushed at exit
  const gen = generator(`
let left = Number(argv[0]);
const b = Buffer.alloc(1 << 20, 'x');
while (left > 0) { const n = Math.min(left, b.length); out(b, 0, n); left -= n; }
`);
  const X = Buffer.alloc(65536, 'x');
  let bytes = 0;
  let pieces = 0;
  let tooLong = 0;
  let notX = 0;
  let smallest = Infinity;
  const reader = lineReader(['x'], (_name, buf, body, end) => {
    const len = end - body;
    if (len > 65536) tooLong++;
    else if (buf.compare(X, 0, len, body, end) !== 0) notX++;
    smallest = Math.min(smallest, len);
    bytes += len;
    pieces++;
  });
  const started = Date.now();
  const run = await runStreaming(config(program('x', gen, SIZE)), reader.feed, { timeoutMs: 35_000 });
  t.diagnostic(`${pieces} pieces (smallest ${smallest} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s, RSS peak ${run.peakMb.toFixed(0)} MB over ${run.samples} samples`);
  assert.deepEqual({ code: run.code, signal: run.signal }, { code: 0, signal: null });
  assert.equal(reader.state.foreign, 0, `foreign lines, first: ${reader.state.firstForeign}`);
  assert.equal(tooLong, 0, 'pieces over 65536 bytes');
  assert.equal(notX, 0, "pieces with something else than 'x'");
  assert.equal(bytes, SIZE, 'the pieces do not add up to 600 MB');
  assert.ok(pieces >= Math.ceil(SIZE / 65536));
  assert.ok(run.samples >= 5, `only ${run.samples} RSS samples`);
  assert.ok(run.peakMb < 150, `RSS peaked at ${run.peakMb.toFixed(0)} MB`);
});

it('a stdout reader that stalls 5 s while a program writes 300 MB: RSS under 150 MB throughout, every line arrives after', { timeout: 40_000 }, async (t) => {
  const SIZE = 300 * MB;
  // Line i: "<i>:" + PATTERN[i % 26 …] up to 100 bytes with the newline; written in 64 KiB writes.
  const gen = generator(`
const SIZE = Number(argv[0]);
const PATTERN = Buffer.from(Array.from({ length: 200 }, (_, k) => 97 + (k % 26)));
const buf = Buffer.alloc(1 << 16);
let at = 0, written = 0;
for (let i = 0; written < SIZE; i++) {
  const head = i + ':';
  if (at + 100 > buf.length) { out(buf, 0, at); at = 0; }
  at += buf.write(head, at, 'latin1');
  at += PATTERN.copy(buf, at, i % 26, i % 26 + 99 - head.length);
  buf[at++] = 10;
  written += 100;
}
out(buf, 0, at);
`);
  const LINES = SIZE / 100;
  const PATTERN = Buffer.from(Array.from({ length: 200 }, (_, k) => 97 + (k % 26)));
  let got = 0;
  let wrong = 0;
  let firstWrong = '';
  const reader = lineReader(['w'], (_name, buf, body, end) => {
    const i = got++;
    const head = `${i}:`;
    const ok =
      end - body === 99 &&
      buf.toString('latin1', body, body + head.length) === head &&
      buf.compare(PATTERN, i % 26, i % 26 + 99 - head.length, body + head.length, end) === 0;
    if (!ok) {
      wrong++;
      if (!firstWrong) firstWrong = `line ${i}: ${buf.toString('latin1', body, Math.min(end, body + 80))}`;
    }
  });
  const started = Date.now();
  const run = await runStreaming(config(program('w', gen, SIZE)), reader.feed, { pauseMs: 5000, timeoutMs: 35_000 });
  t.diagnostic(`${got} lines in ${((Date.now() - started) / 1000).toFixed(1)} s (5 s of them stalled), RSS peak ${run.peakMb.toFixed(0)} MB over ${run.samples} samples`);
  assert.deepEqual({ code: run.code, signal: run.signal }, { code: 0, signal: null });
  assert.equal(run.aliveAtResume, true, 'ringmaster had finished before the reader resumed: it cannot have been held back');
  assert.equal(reader.state.foreign, 0, `foreign lines, first: ${reader.state.firstForeign}`);
  assert.equal(wrong, 0, `lines cut, mixed or out of order, first: ${firstWrong}`);
  assert.equal(got, LINES, 'lines lost');
  assert.ok(run.samples >= 50, `only ${run.samples} RSS samples`);
  assert.ok(run.peakMb < 150, `RSS peaked at ${run.peakMb.toFixed(0)} MB`);
});
