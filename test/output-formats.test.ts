// Output formats, log files and the tail buffer (SPEC §3, log-file options of §2).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { jsonBytes } from '../src/output/format';
import { LineSplitter, cutPoint } from '../src/output/line-splitter';
import { LogFile } from '../src/output/logfile';
import { createOutput } from '../src/output/multiplexer';
import { OutBuffer } from '../src/output/out-buffer';
import { native } from '../src/pid1/native';
import { TailBuffer } from '../src/output/tail';
import { Ringmaster, tempDir, writeConfig } from './support/ringmaster';

class Recorder extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.chunks.push(chunk);
    cb();
  }
  get text() {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

/** An OutBuffer whose writes are collected (copies: its buffers are reused), flushed by hand. */
function collector() {
  const written: Buffer[] = [];
  const out = new OutBuffer((filled, done) => {
    written.push(Buffer.from(filled));
    done();
  }, () => {});
  return { out, text: () => (out.flush(), Buffer.concat(written)) };
}

describe('output buffer', () => {
  it('keeps the order of reserved bytes, small and big pieces; reuses a buffer only once its write is done, and only if allowed', () => {
    const writes: Buffer[] = [];
    const dones: Array<() => void> = [];
    const out = new OutBuffer((filled, done) => {
      writes.push(filled);
      dones.push(done);
    }, () => {});
    const put = (text: string) => {
      const at = out.reserve(Buffer.byteLength(text));
      Buffer.from(text).copy(out.buffer, at);
    };
    put('a\n');
    out.append(Buffer.from('b\n'));
    out.append(Buffer.alloc(100_000, 'c')); // big: the buffer so far goes out first, then this as is
    put('d\n');
    out.flush();
    assert.deepEqual(writes.map((w) => w.length), [4, 100_000, 2]);
    assert.equal(Buffer.concat(writes).toString(), `a\nb\n${'c'.repeat(100_000)}d\n`);
    const first = writes[0].buffer;
    put('e\n');
    out.flush();
    assert.notEqual(writes[3].buffer, first, 'reused before its write was done');
    for (const d of dones) d();
    put('f\n');
    out.flush();
    assert.ok([writes[0], writes[2], writes[3]].some((w) => w.buffer === writes[4].buffer), 'a done buffer was not reused');

    const kept: Buffer[] = [];
    const noReuse = new OutBuffer((filled, done) => {
      kept.push(filled);
      done();
    }, () => {}, false);
    for (const t of ['x\n', 'y\n']) {
      const at = noReuse.reserve(2);
      Buffer.from(t).copy(noReuse.buffer, at);
      noReuse.flush();
    }
    assert.equal(Buffer.concat(kept).toString(), 'x\ny\n', 'a kept chunk was overwritten');
  });
});

describe('line splitter', () => {
  const format = { prefix: () => Buffer.from('p | ') };
  it('keeps lines whole across any chunk cut and never mixes them, also when the chunks are one reused buffer', () => {
    const lines = Array.from({ length: 20000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`);
    const input = Buffer.from(lines.join('\n') + '\n');
    const s = new LineSplitter(format, 65536);
    const c = collector();
    const reused = Buffer.alloc(4096);
    let rng = 7;
    for (let at = 0; at < input.length; ) {
      rng = (rng * 1103515245 + 12345) % 2 ** 31;
      const n = Math.min(1 + (rng % 3000), input.length - at);
      // As a pipe read into the shared read buffer: what the splitter keeps must be a copy.
      input.copy(reused, 0, at, at + n);
      s.push(reused.subarray(0, n), c.out);
      reused.fill(0x3f);
      if (rng % 5 === 0) c.out.flush(); // a turn of the event loop ends here
      at += n;
    }
    assert.deepEqual(c.text().toString().split('\n').slice(0, -1), lines.map((l) => `p | ${l}`));
  });

  it('the addon\'s render writes byte for byte what the JS render writes, over-long lines and partial lines included', () => {
    let rng = 11;
    const next = (n: number) => (rng = (rng * 1103515245 + 12345) % 2 ** 31) % n;
    const lines = Array.from({ length: 5000 }, (_, i) => `${i} ${'é'.repeat(next(3))}${'x'.repeat(next(5) === 0 ? next(400) : next(60))}`);
    const input = Buffer.from(lines.join('\n') + '\npartial at the end');
    const js = new LineSplitter(format, 100);
    let rendered = 0;
    const fast = new LineSplitter(format, 100, {
      countLines: (...args) => native.countLines(...args),
      prefixLines: (...args) => (rendered++, native.prefixLines(...args)),
    });
    const a = collector();
    const b = collector();
    for (let at = 0; at < input.length; ) {
      const n = Math.min(1 + next(2000), input.length - at);
      js.push(input.subarray(at, at + n), a.out);
      fast.push(input.subarray(at, at + n), b.out);
      at += n;
    }
    js.flush(a.out);
    fast.flush(b.out);
    const text = a.text();
    assert.ok(text.length > input.length, 'nothing was rendered');
    assert.ok(b.text().equals(text), 'the two renders differ');
    assert.ok(rendered > 20, `the addon rendered only ${rendered} chunks`);
    assert.equal(native.prefixLines(Buffer.from('a\nb\n'), 0, 4, Buffer.from('p | '), Buffer.alloc(11), 0), -1, 'wrote past the end of its buffer');
    assert.equal(native.countLines(Buffer.from('a\nbbbb\n'), 0, 7, 3), -1, 'a line past maxLine was counted');
  });

  it('cuts over-long lines into pieces of at most maxLine bytes at UTF-8 boundaries', () => {
    const line = 'é😀a'.repeat(30_000); // 7 bytes per repeat: 210 KB
    const s = new LineSplitter({ prefix: () => Buffer.alloc(0) }, 65536);
    const c = collector();
    s.push(Buffer.from(line.slice(0, 5000)), c.out);
    s.push(Buffer.from(line.slice(5000) + '\n'), c.out);
    const out = c.text();
    const pieces = out.toString('utf8').split('\n').slice(0, -1);
    assert.ok(pieces.length >= 4);
    for (const p of pieces) assert.ok(Buffer.byteLength(p) <= 65536);
    assert.equal(pieces.join(''), line, 'a character was split or lost');
    const buf = Buffer.from('aé');
    assert.equal(cutPoint(buf, 0, 2), 1, 'must not cut inside é');
  });
});

describe('formats', () => {
  it('JSON: one object per line, exact escaping, invalid UTF-8 as surrogate escapes that round-trip in Python', () => {
    const bytes = Buffer.concat([Buffer.from('quote " backslash \\ tab \t ctl \x01 unicode é 😀 '), Buffer.from([0xff, 0xfe, 0xc3])]);
    const json = jsonBytes(bytes);
    const py = spawnSync('python3', ['-c', 'import json,sys; sys.stdout.buffer.write(json.loads(sys.stdin.read()).encode("utf-8","surrogateescape"))'], { input: json });
    if (py.status !== 0 && py.error) return; // no python3: the JS check below still runs
    assert.deepEqual(py.stdout, bytes);
    assert.equal(JSON.parse(jsonBytes(Buffer.from('plain é'))), 'plain é');
  });

  it('json, timestamps and colours reach ringmaster\'s output as configured', async () => {
    // Its own socket: with /run's and the temp dir's taken by other ringmasters on the machine, the
    // "no control socket" warning would be a second object on stderr.
    const json = new Ringmaster({
      args: ['-c', writeConfig(`settings: {socket: ${path.join(tempDir(), 'rm.sock')}, exit_policy: all, log_format: json}\nprograms:\n  web: {command: ["sh", "-c", "echo hi; echo oops >&2"], startsecs: 0, autorestart: false}\n`)],
    });
    await json.wait();
    const objects = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(objects.some((o) => o.program === 'web' && o.stream === 'stdout' && o.line === 'hi' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(o.time)));
    assert.ok(objects.every((o) => o.stream === 'stdout'));
    assert.deepEqual(JSON.parse(json.stderr.trim()), { ...JSON.parse(json.stderr.trim()), program: 'web', stream: 'stderr', line: 'oops' });

    const text = new Ringmaster({
      args: ['-c', writeConfig(`settings: {socket: ${path.join(tempDir(), 'rm.sock')}, exit_policy: all, log_timestamps: true, log_color: always}\nprograms:\n  web: {command: "echo hi", startsecs: 0, autorestart: false}\n`)],
    });
    await text.wait();
    assert.match(text.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \x1b\[\d+mweb\x1b\[0m \| hi$/m);
  });

  it('log_color auto: no colour on a pipe, FORCE_COLOR forces it, NO_COLOR wins over a TTY', async () => {
    const line = async (env: NodeJS.ProcessEnv, isTTY: boolean) => {
      const out = Object.assign(new Recorder(), { isTTY });
      const o = createOutput({ stdout: out, stderr: new Recorder(), color: 'auto', env });
      o.system('x');
      await o.close();
      return out.text;
    };
    assert.equal(await line({}, false), 'ringmaster | x\n');
    assert.match(await line({ FORCE_COLOR: '1' }, false), /\x1b\[1m/);
    assert.equal(await line({ NO_COLOR: '1' }, true), 'ringmaster | x\n');
    assert.match(await line({}, true), /\x1b\[1m/);
  });
});

describe('log files and tail', () => {
  it('rotation keeps exactly `backups` files of at most `maxbytes`', () => {
    const dir = tempDir();
    const file = path.join(dir, 'app.log');
    const log = new LogFile({ path: file, maxBytes: 1000, backups: 3, stripAnsi: false }, (t) => assert.fail(t));
    for (let i = 0; i < 100; i++) log.write(Buffer.from(`line ${i} ${'y'.repeat(50)}\n`));
    log.close();
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['app.log', 'app.log.1', 'app.log.2', 'app.log.3']);
    for (const f of files) assert.ok(statSync(path.join(dir, f)).size <= 1000, `${f} is over maxbytes`);
    assert.match(readFileSync(file, 'utf8'), /line 99 /);
  });

  it('strip_ansi removes escape sequences from the file only; reopen follows a moved file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.log');
    const log = new LogFile({ path: file, maxBytes: 0, backups: 0, stripAnsi: true }, () => {});
    log.write(Buffer.from('\x1b[31mred\x1b[0m plain\n'));
    assert.equal(readFileSync(file, 'utf8'), 'red plain\n');
    writeFileSync(file + '.moved', '');
    spawnSync('mv', [file, file + '.old']);
    log.reopen();
    log.write(Buffer.from('after\n'));
    log.close();
    assert.equal(readFileSync(file, 'utf8'), 'after\n');
  });

  // forward_signals lists USR2: with log files it is otherwise not forwarded (issue #12, 21).
  it('programs\' output goes to their log files (AUTO in logdir) and SIGUSR2 reopens them (and is forwarded when listed)', async () => {
    const dir = tempDir();
    const logdir = path.join(dir, 'logs');
    const cfg = writeConfig(`
settings: {logdir: ${logdir}, forward_signals: [USR2]}
programs:
  app:
    command: ["sh", "-c", "echo one; trap 'echo two' USR2; while :; do sleep 0.05; done"]
    stdout_logfile: AUTO
    startsecs: 0
`);
    const rm = new Ringmaster({ args: ['-c', cfg] });
    const file = path.join(logdir, 'app-stdout.log');
    await rm.waitFor(/app \| one/);
    spawnSync('mv', [file, file + '.1']);
    await rm.signal('SIGUSR2');
    await rm.waitFor(/app \| two/);
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
    assert.equal(readFileSync(file + '.1', 'utf8'), 'one\n');
    assert.ok(existsSync(file));
    assert.equal(readFileSync(file, 'utf8'), 'two\n');
  });

  it('the tail buffer keeps the last bytes and counts all of them', () => {
    const t = new TailBuffer(10);
    t.write(Buffer.from('abcdef'));
    t.write(Buffer.from('ghijkl'));
    assert.equal(t.last().toString(), 'cdefghijkl');
    assert.equal(t.last(3).toString(), 'jkl');
    assert.equal(t.total, 12);
    t.write(Buffer.from('0123456789ABC'));
    assert.equal(t.last().toString(), '3456789ABC');
  });

  it('the tail buffer agrees with a plain copy of everything for any chunking (ring growth and wrap)', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (const capacity of [1, 10, 4096, 5000, 65536]) {
      const t = new TailBuffer(capacity);
      let all = Buffer.alloc(0);
      for (let i = 0; i < 300; i++) {
        const chunk = Buffer.from(Array.from({ length: rand(i % 50 === 0 ? 70_000 : 900) }, () => 97 + rand(26)));
        t.write(chunk);
        all = Buffer.concat([all, chunk]);
        if (all.length > 200_000) all = all.subarray(all.length - 100_000);
        const held = Math.min(capacity, all.length);
        assert.equal(t.total >= all.length, true);
        assert.deepEqual(t.last(), all.subarray(all.length - held), `capacity ${capacity}, write ${i}`);
        const from = t.total - held + rand(held + 1);
        const to = from + rand(held + 1);
        const base = t.total - all.length;
        assert.deepEqual(t.slice(from, to), all.subarray(from - base, Math.min(to, t.total) - base));
      }
      t.clear();
      assert.equal(t.last().length, 0);
      assert.equal(t.total, 0);
    }
  });

  it('a stalled reader pauses the producer and nothing is lost', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const received: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk, _enc, cb) {
        received.push(chunk);
        void gate.then(() => cb());
      },
    });
    const o = createOutput({ stdout: slow, stderr: new Recorder() });
    o.setNames(['p']);
    const src = new PassThrough();
    const done = o.attach('p', 'stdout', src);
    for (let i = 0; i < 1000; i++) src.write(`line ${i}\n`);
    src.end();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(src.isPaused(), 'the producer was not paused');
    release();
    await done;
    await o.close();
    const lines = Buffer.concat(received).toString().trim().split('\n');
    assert.equal(lines.length, 1000);
    assert.equal(lines[999], 'p | line 999');
  });
});
