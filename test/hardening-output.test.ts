// Issue #12 (hardening), output: ringmaster's own lines while its stdout reader is stalled are
// bounded (the newest kept, the rest counted), as programs' lines are by pausing their pipes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { existsSync, statSync } from 'node:fs';
import { BUNDLE, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';

it('#16 while stdout is stalled, a fast-flapping program\'s state lines are bounded: the newest kept, the dropped counted', async () => {
  const dir = tempDir();
  const name = `flap${'x'.repeat(240)}`; // long lines: over 1 KB of ringmaster's lines per restart
  const starts = path.join(dir, 'starts');
  const cfg = writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  ${name}: {command: ["sh", "-c", "echo >> ${starts}; exit 1"], startsecs: 0, autorestart: true, backoff: {initial: 1ms, max: 1ms}}
`);
  const count = () => (existsSync(starts) ? statSync(starts).size : 0);
  const rm = spawn(process.execPath, [BUNDLE, '-c', cfg], { stdio: ['ignore', 'pipe', 'ignore'] });
  const killer = setTimeout(() => rm.kill('SIGKILL'), 90_000);
  try {
    let received = '';
    rm.stdout!.setEncoding('latin1');
    rm.stdout!.pause(); // the stalled `docker logs` reader
    // 600 restarts are over 600 KB of lines: far more than the pipe, the stream's queue and the
    // 256 KiB held. Counted by the program itself, as ringmaster's output is what is stalled.
    await eventually(() => count() >= 600, 60_000, '600 restarts while stalled');
    // Stop the flapping while still stalled, so what arrives after the resume is only what was
    // queued and held, plus the shutdown's few lines.
    // 'close': the process exited and its stdout ended.
    const exited = new Promise<number | null>((resolve) => rm.on('close', (code) => resolve(code)));
    rm.kill('SIGTERM');
    await sleep(500);
    rm.stdout!.on('data', (d: string) => (received += d));
    rm.stdout!.resume();
    assert.equal(await exited, 0);
    const atResume = received;
    assert.match(atResume, /exiting with code 0\n$/);
    const restarts = (atResume.match(/entered STARTING/g) ?? []).length;
    const m = /(\d+) of ringmaster's own lines were dropped while this output was stalled/.exec(atResume);
    assert.ok(m, `no drop notice; ${atResume.length} bytes, ${restarts} starts seen after the stall`);
    assert.ok(Number(m[1]) > 100, `only ${m[1]} dropped`);
    // What came out at the resume: the pipe's and the stream's queue, plus at most 256 KiB held.
    const before = atResume.slice(0, m.index);
    assert.ok(before.length < 512 * 1024, `${before.length} bytes queued before the notice`);
    const after = atResume.slice(m.index);
    assert.ok(after.length < 256 * 1024 + 16 * 1024, `${after.length} bytes after the notice`);
  } finally {
    clearTimeout(killer);
  }
});
