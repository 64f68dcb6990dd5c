// The output multiplexer (SPEC §3): whole lines behind padded prefixes, partial lines, long lines,
// backpressure, ringmaster's own lines, and close() on real pipes, files and /dev/null.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createOutput } from '../src/output/multiplexer';

const REPO = path.resolve(__dirname, '..');

/** A sink that keeps every write it receives, as it received it. */
class Recorder extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.chunks.push(chunk);
    cb();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get text(): string {
    return this.bytes.toString('latin1');
  }
}

/** Records every chunk as `write()` accepts it (before any corking or queueing). */
function recordAccepted(sink: Writable): Buffer[] {
  const accepted: Buffer[] = [];
  const write = sink.write.bind(sink) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  sink.write = ((chunk: Buffer, ...rest: unknown[]) => {
    if (chunk.length) accepted.push(Buffer.from(chunk));
    return write(chunk, ...rest);
  }) as typeof sink.write;
  return accepted;
}

/**
 * A sink whose reader is stalled until `release()`: writes are accepted into the Writable's
 * buffer (`accepted` records them as they are handed over) but none completes.
 */
function stalledSink(highWaterMark: number) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const sink = new Writable({
    highWaterMark,
    write(_chunk, _enc, cb) {
      void gate.then(() => cb());
    },
  });
  const accepted = recordAccepted(sink);
  return { sink, accepted, release, text: () => Buffer.concat(accepted).toString('latin1') };
}

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Deterministic pseudo-random numbers (a failure must be reproducible). */
function rng(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

describe('§3 lines: never cut, never mixed, padded prefix', () => {
  it('3 producers cut at random points and interleaved: each line whole behind its prefix, order kept, none lost, every write ends a line', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder(), idleFlushMs: 60_000 });
    const names = ['web', 'worker', 'db-primary'];
    o.setNames(names);
    const random = rng(42);
    const lines = names.map((n) => Array.from({ length: 3000 }, (_, i) => `${n} line ${i} ${'x'.repeat(random(200))}`));
    const inputs = lines.map((l) => Buffer.from(l.join('\n') + '\n'));
    const sources = names.map(() => new PassThrough());
    const done = names.map((n, i) => o.attach(n, 'stdout', sources[i]));
    const at = [0, 0, 0];
    let writes = 0;
    while (at.some((a, i) => a < inputs[i].length)) {
      const i = random(3);
      if (at[i] >= inputs[i].length) continue;
      const n = 1 + random(700);
      sources[i].write(inputs[i].subarray(at[i], at[i] + n));
      at[i] += n;
      if (++writes % 7 === 0) await sleep(0);
    }
    for (const s of sources) s.end();
    await Promise.all(done);
    await o.close();

    for (const chunk of out.chunks) if (chunk.length) assert.equal(chunk[chunk.length - 1], 10, 'a write ended inside a line');
    const got: string[][] = [[], [], []];
    for (const line of out.text.split('\n').slice(0, -1)) {
      const i = names.findIndex((n) => line.startsWith(`${n.padEnd(10)} | `));
      assert.ok(i >= 0, `line without a known prefix: ${JSON.stringify(line.slice(0, 40))}`);
      got[i].push(line.slice(13));
    }
    for (let i = 0; i < 3; i++) assert.deepEqual(got[i], lines[i], `${names[i]}: lines cut, mixed, lost or reordered`);
  });

  it('names are padded to the longest name given to setNames, also for pipes attached before the call', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder() });
    o.setNames(['web']);
    const web = new PassThrough();
    const doneWeb = o.attach('web', 'stdout', web);
    web.write('before\n');
    await sleep(0);
    o.setNames(['web', 'worker']);
    const worker = new PassThrough();
    const doneWorker = o.attach('worker', 'stdout', worker);
    web.end('GET / 200\n');
    worker.end('job 17 done\n');
    await Promise.all([doneWeb, doneWorker]);
    await o.close();
    assert.equal(out.text, 'web | before\nweb    | GET / 200\nworker | job 17 done\n');
  });

  it('ringmaster\'s own lines: padded like the programs when shorter, never truncated when longer, warnings on stderr', async () => {
    const out = new Recorder();
    const err = new Recorder();
    const o = createOutput({ stdout: out, stderr: err });
    o.setNames(['web', 'a-very-long-name']);
    o.system('web entered RUNNING (pid 12)');
    o.setNames(['web']);
    o.system('short names');
    o.system('to stderr', 'warn');
    await o.close();
    assert.equal(out.text, 'ringmaster       | web entered RUNNING (pid 12)\nringmaster | short names\n');
    assert.equal(err.text, 'ringmaster | to stderr\n');
  });

  it('a program\'s stderr pipe goes to ringmaster\'s stderr, its stdout to stdout', async () => {
    const out = new Recorder();
    const err = new Recorder();
    const o = createOutput({ stdout: out, stderr: err });
    o.setNames(['app']);
    const a = new PassThrough();
    const b = new PassThrough();
    const done = [o.attach('app', 'stdout', a), o.attach('app', 'stderr', b)];
    a.end('to out\n');
    b.end('to err\n');
    await Promise.all(done);
    await o.close();
    assert.equal(out.text, 'app | to out\n');
    assert.equal(err.text, 'app | to err\n');
  });

  it('bytes pass through unchanged: invalid UTF-8, \\r\\n line ends, NUL and escape bytes', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder() });
    o.setNames(['bin']);
    const src = new PassThrough();
    const done = o.attach('bin', 'stdout', src);
    const body = Buffer.from([0xff, 0xfe, 0x41, 0xc3, 0x0d, 0x0a, 0x80, 0x00, 0x1b, 0x5b, 0x31, 0x6d, 0xe2, 0x82, 0x0a]);
    src.write(body.subarray(0, 4));
    src.end(body.subarray(4));
    await done;
    await o.close();
    const expected = Buffer.concat([
      Buffer.from('bin | '), Buffer.from([0xff, 0xfe, 0x41, 0xc3, 0x0d, 0x0a]),
      Buffer.from('bin | '), Buffer.from([0x80, 0x00, 0x1b, 0x5b, 0x31, 0x6d, 0xe2, 0x82, 0x0a]),
    ]);
    assert.deepEqual(out.bytes, expected);
  });
});

describe('§3 long lines: pieces of at most 64 KiB at character boundaries', () => {
  const line = Buffer.from('é😀'.repeat(34_000)); // 204,000 bytes of 2- and 4-byte characters

  function checkPieces(text: Buffer, prefix: string): void {
    const pieces: Buffer[] = [];
    let s = 0;
    for (let nl = text.indexOf(10); nl >= 0; nl = text.indexOf(10, s)) {
      assert.equal(text.toString('latin1', s, s + prefix.length), prefix);
      pieces.push(text.subarray(s + prefix.length, nl));
      s = nl + 1;
    }
    assert.equal(s, text.length, 'output ends inside a line');
    assert.ok(pieces.length >= 4, `${pieces.length} pieces`);
    for (const p of pieces) {
      assert.ok(p.length <= 65536, `a piece of ${p.length} bytes`);
      assert.ok(isUtf8(p), 'a piece starts or ends inside a character');
    }
    assert.deepEqual(Buffer.concat(pieces), line, 'pieces do not add up to the line');
  }

  it('a 200 KB line written in small chunks that cut characters', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder() });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    for (let at = 0; at < line.length; at += 1001) src.write(line.subarray(at, at + 1001));
    src.end('\n');
    await done;
    await o.close();
    checkPieces(out.bytes, 'p | ');
  });

  it('a 200 KB line in one chunk with its newline, between two short lines', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder() });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    src.end(Buffer.concat([Buffer.from('before\n'), line, Buffer.from('\nafter\n')]));
    await done;
    await o.close();
    const text = out.bytes;
    assert.equal(text.toString('latin1', 0, 11), 'p | before\n');
    assert.equal(text.toString('latin1', text.length - 10), 'p | after\n');
    checkPieces(text.subarray(11, text.length - 10), 'p | ');
  });

  it('a 200 KB line with no newline at all, ended by EOF', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder() });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    src.write(line.subarray(0, 70_001));
    src.end(line.subarray(70_001));
    await done;
    await o.close();
    checkPieces(out.bytes, 'p | ');
  });
});

describe('§3 partial lines', () => {
  it('a partial line is written as a line after idleFlushMs of quiet from its producer', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder(), idleFlushMs: 50 });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    src.write('Password: ');
    await sleep(10);
    assert.equal(out.text, '', 'flushed before the idle time');
    await waitFor('the idle flush', () => out.text === 'p | Password: \n');
    src.end('next\n');
    await done;
    await o.close();
    assert.equal(out.text, 'p | Password: \np | next\n');
  });

  it('each chunk of the same producer restarts its idle time; another producer\'s data does not', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder(), idleFlushMs: 400 });
    o.setNames(['slow', 'busy']);
    const slow = new PassThrough();
    const busy = new PassThrough();
    const done = [o.attach('slow', 'stdout', slow), o.attach('busy', 'stdout', busy)];
    const t0 = Date.now();
    slow.write('a');
    await sleep(100);
    slow.write('b');
    await sleep(100);
    slow.write('c');
    const lastWrite = Date.now();
    busy.write('busy 1\n');
    await sleep(100);
    busy.write('busy 2\n');
    // Only when 400 ms passed since its last chunk does the flush come, with all three bytes.
    if (Date.now() - lastWrite < 380) assert.doesNotMatch(out.text, /slow/, 'flushed while its producer was still writing');
    await waitFor('the idle flush of slow', () => out.text.includes('slow | abc\n'));
    assert.ok(Date.now() - t0 >= 600, 'the idle time did not restart with each chunk');
    slow.end();
    busy.end();
    await Promise.all(done);
    await o.close();
  });

  it('at EOF the partial line is written at once, before attach resolves, and no timer is left', async () => {
    const out = new Recorder();
    const accepted = recordAccepted(out);
    const o = createOutput({ stdout: out, stderr: new Recorder(), idleFlushMs: 60_000 });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    src.write('complete\nthe last words');
    src.end();
    const t0 = Date.now();
    await done;
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(Buffer.concat(accepted).toString(), 'p | complete\np | the last words\n', 'not written when attach resolved');
    await o.close();
    assert.equal(out.text, 'p | complete\np | the last words\n');
    // The 60 s idle timer was cleared: a leftover would show in the active handles/resources.
    assert.ok(!process.getActiveResourcesInfo().includes('Timeout'), `${process.getActiveResourcesInfo()}`);
  });

  it('attach resolves at once for a pipe that ended or was destroyed before it was attached', async () => {
    const o = createOutput({ stdout: new Recorder(), stderr: new Recorder() });
    const ended = new PassThrough();
    ended.end();
    ended.resume();
    await new Promise((r) => ended.once('end', r));
    const destroyed = new PassThrough();
    destroyed.destroy();
    await sleep(10);
    const bounded = (p: Promise<void>) => Promise.race([p.then(() => 'resolved'), sleep(1000).then(() => 'hung')]);
    assert.equal(await bounded(o.attach('p', 'stdout', ended)), 'resolved', 'already ended');
    assert.equal(await bounded(o.attach('p', 'stderr', destroyed)), 'resolved', 'already destroyed');
    assert.equal(await bounded(o.settle(5000)), 'resolved', 'settle');
    await o.close();
  });

  it('close() writes the partial line of a pipe that is still open, and resolves once it reached the sink', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder(), idleFlushMs: 60_000 });
    o.setNames(['p']);
    const src = new PassThrough();
    void o.attach('p', 'stdout', src);
    src.write('one\ntw');
    await waitFor('the first line', () => out.text === 'p | one\n');
    await o.close();
    assert.equal(out.text, 'p | one\np | tw\n');
    src.destroy();
  });

  it('a producer held for backpressure keeps its partial line past the idle time; it is flushed after the drain', async () => {
    const { sink, accepted, release, text } = stalledSink(64);
    const o = createOutput({ stdout: sink, stderr: new Recorder(), idleFlushMs: 30 });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    src.write(`${'x'.repeat(100)}\nhalf a li`);
    await waitFor('the producer to be paused', () => src.isPaused());
    await sleep(200);
    assert.equal(accepted.length, 1, 'something was written while the stream was blocked');
    assert.doesNotMatch(text(), /half/, 'the partial line was idle-flushed while ringmaster held its producer');
    release();
    await waitFor('the idle flush after the drain', () => text().endsWith('p | half a li\n'));
    assert.ok(!src.isPaused(), 'the producer was not resumed');
    src.end();
    await done;
    await o.close();
  });
});

describe('§3 backpressure: a slow reader pauses the producers, memory stays bounded', () => {
  it('a slow sink pauses and resumes all 3 producers, its queue stays near its highWaterMark, every line arrives in order', async () => {
    const received: Buffer[] = [];
    let queuedMax = 0;
    const sink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk);
        setTimeout(cb, 1);
      },
    });
    const o = createOutput({ stdout: sink, stderr: new Recorder() });
    const names = ['a', 'b', 'c'];
    o.setNames(names);
    const sources = names.map(() => new PassThrough({ highWaterMark: 512 }));
    const pauses = [0, 0, 0];
    const resumes = [0, 0, 0];
    sources.forEach((s, i) => {
      s.on('pause', () => pauses[i]++);
      s.on('resume', () => resumes[i]++);
    });
    const done = names.map((n, i) => o.attach(n, 'stdout', sources[i]));
    const N = 2000;
    const feeding = sources.map(async (s, i) => {
      for (let k = 0; k < N; k += 10) {
        let batch = '';
        for (let j = k; j < k + 10; j++) batch += `${names[i]} ${j}\n`;
        // The producer's side of the pipe: it blocks when the pipe is full, as a program would,
        // and its writes come in over several turns of the event loop, as a pipe's reads do.
        if (!s.write(batch)) await new Promise((r) => s.once('drain', r));
        else await new Promise(setImmediate);
        queuedMax = Math.max(queuedMax, sink.writableLength);
      }
      s.end();
    });
    await Promise.all(feeding);
    await Promise.all(done);
    await o.close();
    for (let i = 0; i < 3; i++) {
      assert.ok(pauses[i] > 1 && resumes[i] > 1, `${names[i]} paused ${pauses[i]}, resumed ${resumes[i]} times; ${received.length} writes, queued max ${queuedMax}`);
    }
    // A blocked write holds everyone at once, so the queue is the mark plus one turn's output:
    // what each producer had buffered (its pipe: here 512 + 512 bytes), prefixed.
    assert.ok(queuedMax <= 1024 + 3 * 2048, `the sink queued ${queuedMax} bytes`);
    const lines = Buffer.concat(received).toString().split('\n').slice(0, -1);
    for (const n of names) {
      const mine = lines.filter((l) => l.startsWith(`${n} | `));
      assert.deepEqual(mine, Array.from({ length: N }, (_, j) => `${n} | ${n} ${j}`));
    }
  });

  it('ringmaster\'s own lines are never dropped while the stream is blocked', async () => {
    const { sink, release, text } = stalledSink(16);
    const o = createOutput({ stdout: sink, stderr: new Recorder() });
    o.setNames(['p']);
    for (let i = 0; i < 100; i++) o.system(`message ${i}`);
    release();
    await o.close();
    assert.deepEqual(text().split('\n').slice(0, -1), Array.from({ length: 100 }, (_, i) => `ringmaster | message ${i}`));
  });

  it('close() resolves only after the sink completed every write', async () => {
    const { sink, release } = stalledSink(1024);
    const o = createOutput({ stdout: sink, stderr: new Recorder() });
    o.setNames(['p']);
    o.system('last words');
    let closed = false;
    const closing = o.close().then(() => (closed = true));
    await sleep(100);
    assert.equal(closed, false, 'close() resolved while the write was still pending');
    release();
    await closing;
  });

  it('a stdout whose reader went away (EPIPE) lets held producers run on instead of blocking them forever', async () => {
    const { sink } = stalledSink(16);
    const o = createOutput({ stdout: sink, stderr: new Recorder() });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    src.write('x'.repeat(100) + '\n');
    await waitFor('the producer to be paused', () => src.isPaused());
    sink.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await waitFor('the producer to be resumed', () => !src.isPaused());
    src.end('more\n');
    await done;
    await o.close();
  });
});

describe('§3 with real processes and pipes', () => {
  function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    return new Promise((resolve) => stream.on('end', () => resolve(Buffer.concat(parts))));
  }

  it('a shell\'s stdout and stderr through attach into a `cat` child: lines, \\r\\n, and the unterminated last line', async () => {
    const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const catOut = collect(cat.stdout);
    const err = new Recorder();
    const o = createOutput({ stdout: cat.stdin, stderr: err });
    o.setNames(['sh', 'worker']);
    const sh = spawn('sh', ['-c', 'printf "one\\ntwo\\r\\n"; printf "oops\\n" >&2; sleep 0.05; printf "no newline at exit"'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await Promise.all([o.attach('sh', 'stdout', sh.stdout), o.attach('sh', 'stderr', sh.stderr)]);
    await o.close();
    cat.stdin.end();
    assert.equal((await catOut).toString(), 'sh     | one\nsh     | two\r\nsh     | no newline at exit\n');
    assert.equal(err.text, 'sh     | oops\n');
  });

  it('a program killed mid-line loses nothing: the partial line is written at EOF', async () => {
    const out = new Recorder();
    const o = createOutput({ stdout: out, stderr: new Recorder(), idleFlushMs: 60_000 });
    o.setNames(['x']);
    const sh = spawn('sh', ['-c', 'printf "last words\\ndying mid-li"; kill -9 $$'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await o.attach('x', 'stdout', sh.stdout);
    await o.close();
    assert.equal(out.text, 'x | last words\nx | dying mid-li\n');
  });

  it('a real pipe to a reader that starts late: the program is paused, then every line arrives', async () => {
    const reader = spawn('sh', ['-c', 'sleep 0.5; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const got = collect(reader.stdout);
    const o = createOutput({ stdout: reader.stdin, stderr: new Recorder() });
    o.setNames(['yes']);
    const yes = spawn('sh', ['-c', 'yes "a line from yes" | head -n 100000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let paused = 0;
    yes.stdout.on('pause', () => paused++);
    await o.attach('yes', 'stdout', yes.stdout);
    await o.close();
    reader.stdin.end();
    const lines = (await got).toString().split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 100_000);
    assert.ok(lines.every((l) => l === 'yes | a line from yes'), 'a line was cut or mixed');
    assert.ok(paused > 0, 'the program was never paused although the reader was stalled');
  });

  // close() must hold until the OS has everything: `process.exit` right after it drops anything
  // still queued in the Writable.
  const script = (n: number) => `
    import { PassThrough } from 'node:stream';
    import { createOutput } from ${JSON.stringify(path.join(REPO, 'src/output/multiplexer.ts'))};
    const o = createOutput({ stdout: process.stdout, stderr: process.stderr });
    o.setNames(['p']);
    o.system('hello');
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    for (let i = 0; i < ${n}; i++) src.write('line ' + i + ' ' + 'y'.repeat(100) + '\\n');
    src.end('partial');
    await done; // as ringmaster settles its programs' pipes before it closes
    o.system('bye');
    await o.close();
    process.exit(0);
  `;
  function runScript(n: number, stdout: 'pipe' | number): ReturnType<typeof spawn> {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-output-'));
    const file = path.join(dir, 'close.mts');
    writeFileSync(file, script(n));
    return spawn(process.execPath, ['--import', 'tsx', file], { cwd: REPO, stdio: ['ignore', stdout, 'inherit'] });
  }
  const exited = (p: ReturnType<typeof spawn>) => new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  const expected = (n: number) => ['ringmaster | hello', ...Array.from({ length: n }, (_, i) => `p | line ${i} ${'y'.repeat(100)}`), 'p | partial', 'ringmaster | bye'];

  it('stdout a pipe to a slow reader: every line, the flushed partial and the last message arrive before process.exit', async () => {
    const n = 20_000; // ~2 MB, far more than a pipe holds
    const child = runScript(n, 'pipe');
    child.stdout!.pause();
    await sleep(300);
    const text = collect(child.stdout!);
    child.stdout!.resume();
    assert.equal(await exited(child), 0);
    const lines = (await text).toString().split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(lines, expected(n));
  });

  it('stdout a file or /dev/null: close() resolves and the file holds every line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-output-'));
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(path.join(dir, 'out.log'), 'w');
    const toFile = runScript(5000, fd);
    closeSync(fd);
    const nullFd = openSync('/dev/null', 'w');
    const toNull = runScript(5000, nullFd);
    closeSync(nullFd);
    assert.deepEqual(await Promise.all([exited(toFile), exited(toNull)]), [0, 0]);
    const lines = readFileSync(path.join(dir, 'out.log'), 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(lines, expected(5000));
  });
});
