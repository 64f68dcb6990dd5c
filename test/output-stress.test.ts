// Output under load (SPEC §3, issue #4): whole lines in order at volume, over-long lines, a line
// with no newline at all, and a stalled reader. The built bundle, real programs, real pipes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { BUNDLE, sleep, tempDir, writeConfig } from './support/ringmaster';

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Run ringmaster on `yaml`, hand each stdout chunk to `onChunk`; track its peak RSS. */
function runStreaming(yaml: string, onChunk: (b: Buffer) => void, opts: { pauseMs?: number; timeoutMs?: number } = {}) {
  const rm = spawn(process.execPath, [BUNDLE, '-c', writeConfig(yaml)], { stdio: ['ignore', 'pipe', 'ignore'] });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(rm.pid!))), 100);
  const killer = setTimeout(() => rm.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  if (opts.pauseMs) {
    rm.stdout!.pause();
    setTimeout(() => rm.stdout!.resume(), opts.pauseMs);
  }
  rm.stdout!.on('data', onChunk);
  return new Promise<{ code: number | null; peakMb: number }>((resolve) =>
    rm.on('close', (code) => {
      clearInterval(sampler);
      clearTimeout(killer);
      resolve({ code, peakMb: peak });
    }),
  );
}

/** Calls `onLine(buf, start, end)` for every complete line across chunks. */
function lineReader(onLine: (buf: Buffer, start: number, end: number) => void) {
  let rest: Buffer | null = null;
  return (chunk: Buffer) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    let s = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, s)) {
      onLine(buf, s, nl);
      s = nl + 1;
    }
    rest = s < buf.length ? buf.subarray(s) : null;
  };
}

it('4 programs x 100,000 lines of 1-3000 bytes cut anywhere: every line whole, prefixed, in order, none lost', async () => {
  const dir = tempDir();
  const gen = path.join(dir, 'gen.js');
  // Line i of program p: "p:i:" then 'a'+(i%26) up to a length of 1..3000 bytes (fixed by p and i).
  writeFileSync(gen, `
const fs = require('fs');
const p = Number(process.argv[2]), N = Number(process.argv[3]);
const len = (i) => 1 + ((i * 2654435761 + p * 97) >>> 0) % 3000;
let buf = Buffer.alloc(1 << 20), at = 0, seed = p + 1;
const flush = () => { let o = 0; while (o < at) { seed = (seed * 1103515245 + 12345) >>> 0; const n = Math.min(at - o, 1 + seed % 9000); fs.writeSync(1, buf, o, n); o += n; } at = 0; };
for (let i = 0; i < N; i++) {
  const head = p + ':' + i + ':';
  const L = Math.max(len(i), head.length);
  if (at + L + 1 > buf.length) flush();
  at += buf.write(head, at, 'latin1');
  buf.fill(97 + (i % 26), at, at + L - head.length); at += L - head.length;
  buf[at++] = 10;
}
flush();
`);
  const N = 100_000;
  const yaml = `settings: {exit_policy: all}\nprograms:\n${[0, 1, 2, 3].map((p) => `  g${p}: {command: ["${process.execPath}", "${gen}", "${p}", "${N}"], startsecs: 0, autorestart: false}`).join('\n')}\n`;
  const next = [0, 0, 0, 0];
  let bad = 0;
  const len = (p: number, i: number) => 1 + (((i * 2654435761 + p * 97) >>> 0) % 3000);
  const read = lineReader((buf, s, e) => {
    if (buf[s] !== 0x67 /* g */ || buf[s + 2] !== 0x20) return; // ringmaster's own lines
    const p = buf[s + 1] - 48;
    const body = s + 5; // "gP | "
    if (buf[s + 3] !== 0x7c) return void bad++;
    const i = next[p];
    const head = `${p}:${i}:`;
    const L = Math.max(len(p, i), head.length);
    if (e - body !== L || buf.toString('latin1', body, body + head.length) !== head || (L > head.length && buf[e - 1] !== 97 + (i % 26))) bad++;
    next[p]++;
  });
  const { code } = await runStreaming(yaml, read, { timeoutMs: 90_000 });
  assert.equal(code, 0);
  assert.equal(bad, 0, 'lines cut, mixed or out of order');
  assert.deepEqual(next, [N, N, N, N], 'lines lost');
});

it('a 600 MB line with no newline: pieces of at most 64 KiB add up to it, RSS stays flat', async () => {
  let bytes = 0;
  let pieces = 0;
  let tooLong = 0;
  const read = lineReader((buf, s, e) => {
    if (buf[s] !== 0x78 /* x */) return;
    const len = e - s - 4; // "x | "
    if (len > 65536) tooLong++;
    bytes += len;
    pieces++;
  });
  const { code, peakMb } = await runStreaming(
    `settings: {exit_policy: all}\nprograms:\n  x: {command: ["sh", "-c", "head -c 629145600 /dev/zero | tr '\\\\0' y"], startsecs: 0, autorestart: false}\n`,
    read,
  );
  assert.equal(code, 0);
  assert.equal(tooLong, 0);
  assert.equal(bytes, 629_145_600);
  assert.ok(pieces >= 9600);
  assert.ok(peakMb < 150, `RSS peaked at ${peakMb.toFixed(0)} MB`);
});

it('a reader that stalls 5 s while a program writes 300 MB: RSS under 150 MB, every line arrives', async () => {
  const line = 'a line of text of some ordinary length for a log, sixty-four b';
  const total = 300 * 1024 * 1024;
  const lines = Math.floor(total / (line.length + 1));
  let got = 0;
  let bad = 0;
  const read = lineReader((buf, s, e) => {
    if (buf[s] !== 0x77 /* w */) return;
    if (buf.toString('latin1', s + 4, e) !== line) bad++;
    got++;
  });
  const { code, peakMb } = await runStreaming(
    `settings: {exit_policy: all}\nprograms:\n  w: {command: ["sh", "-c", "yes '${line}' | head -n ${lines}"], startsecs: 0, autorestart: false}\n`,
    read,
    { pauseMs: 5000 },
  );
  assert.equal(code, 0);
  assert.equal(bad, 0);
  assert.equal(got, lines);
  assert.ok(peakMb < 150, `RSS peaked at ${peakMb.toFixed(0)} MB`);
  await sleep(0);
});
