// SPEC §3: a stalled stdout reader pauses the producers, and everything else keeps working.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { it } from 'node:test';
import { BUNDLE, sleep, tempDir, writeConfig } from './support/ringmaster';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

it('while stdout is stalled: memory stays flat, crashed programs restart, control answers, TERM is handled', async () => {
  const dir = tempDir();
  const starts = path.join(dir, 'starts');
  const socket = path.join(dir, 'rm.sock');
  const cfg = writeConfig(`
settings: {socket: ${socket}}
programs:
  flood: {command: ["sh", "-c", "yes 'flooding the output with a line of text'"], startsecs: 0}
  crasher: {command: ["sh", "-c", "echo x >> ${starts}; sleep 0.1; exit 1"], startsecs: 0, backoff: {initial: 100ms, max: 100ms}}
`);
  const rm = spawn(process.execPath, [BUNDLE, '-c', cfg], { stdio: ['ignore', 'pipe', 'ignore'] });
  const killer = setTimeout(() => rm.kill('SIGKILL'), 30_000);
  try {
    rm.stdout!.pause(); // the stalled `docker logs` reader
    await sleep(3000);
    const count = () => (existsSync(starts) ? readFileSync(starts, 'utf8').length / 2 : 0);
    const before = count();
    await sleep(1500);
    assert.ok(count() > before, `the crashing program was not restarted while output was stalled (${before} -> ${count()})`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: socket, path: '/v1/status' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.setTimeout(3000, () => req.destroy(new Error('control request not answered while output stalled')));
      req.end();
    });
    assert.equal(status, 200, 'control requests are answered while output is stalled');
    const rss = rssMb(rm.pid!);
    assert.ok(rss < 150, `RSS ${rss.toFixed(0)} MB while stalled`);
    const exited = new Promise<number | null>((resolve) => rm.on('exit', (code) => resolve(code)));
    rm.kill('SIGTERM');
    await sleep(300);
    let tailText = '';
    rm.stdout!.on('data', (d: Buffer) => (tailText = (tailText + d.toString('latin1')).slice(-4000)));
    rm.stdout!.resume();
    assert.equal(await exited, 0);
    assert.match(tailText, /exiting with code 0\n$/, 'the programs\' last lines must come before the summary');
  } finally {
    clearTimeout(killer);
  }
});
