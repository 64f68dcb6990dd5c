// The control socket, its JSON API and `ringmaster ctl` / `healthcheck` (SPEC §6), end to end.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { BUNDLE, Ringmaster, tempDir, writeConfig } from './support/ringmaster';

function http(socket: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ctl and the JSON API (SPEC §6)', () => {
  const dir = tempDir();
  const socket = path.join(dir, 'rm.sock');
  let rm: Ringmaster;
  before(async () => {
    rm = new Ringmaster({
      args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  web: {command: "sleep 1000", startsecs: 0}
  worker: {command: "sleep 1000", numprocs: 2, startsecs: 0}
  manual: {command: ["sh", "-c", "echo hello; echo oops >&2; echo url=$SUPERVISOR_SERVER_URL; sleep 1000"], autostart: false, startsecs: 0.2}
  missing: {command: "/no/such/thing", autostart: false, startretries: 0}
`, dir)],
    });
    await rm.waitFor(/worker_01 entered RUNNING/);
  });
  after(async () => {
    rm.kill();
    await rm.exited;
  });

  it('the socket is mode 0700', () => {
    assert.equal(statSync(socket).mode & 0o777, 0o700);
  });

  it('status prints Supervisor\'s format with cpu and memory, and exits 3 when one is not RUNNING', async () => {
    const all = await ctl(socket, 'status');
    assert.equal(all.code, 3);
    assert.match(all.out, /^web +RUNNING +pid \d+, uptime 0:00:\d\d +cpu \d+\.\d% +mem \d+\.\dMB$/m);
    assert.match(all.out, /^worker:worker_00 +RUNNING/m);
    assert.match(all.out, /^manual +STOPPED +Not started$/m);
    const running = await ctl(socket, 'status', 'web', 'worker:*');
    assert.equal(running.code, 0);
    assert.equal(running.out.trim().split('\n').length, 3);
    assert.equal((await ctl(socket, 'status', 'nope')).code, 4);
  });

  it('start, stop, restart and signal with supervisorctl\'s words and exit codes', async () => {
    assert.deepEqual(await ctl(socket, 'start', 'manual'), { code: 0, out: 'manual: started\n' });
    assert.deepEqual(await ctl(socket, 'start', 'web'), { code: 1, out: 'web: ERROR (already started)\n' });
    assert.deepEqual(await ctl(socket, 'start', 'nosuch'), { code: 1, out: 'nosuch: ERROR (no such process)\n' });
    // Issue #11: a missing command is NO_FILE before anything is spawned, on every interface.
    assert.match((await ctl(socket, 'start', 'missing')).out, /missing: ERROR \(no such file: can't find command '\/no\/such\/thing'\)/);
    const stopped = await ctl(socket, 'stop', 'worker:*');
    assert.equal(stopped.out, 'worker:worker_00: stopped\nworker:worker_01: stopped\n');
    assert.equal((await ctl(socket, 'stop', 'worker:worker_00')).out, 'worker:worker_00: ERROR (not running)\n');
    const pidBefore = (await ctl(socket, 'pid', 'web')).out.trim();
    assert.equal((await ctl(socket, 'restart', 'web')).out, 'web: stopped\nweb: started\n');
    const pidAfter = (await ctl(socket, 'pid', 'web')).out.trim();
    assert.notEqual(pidBefore, pidAfter);
    assert.equal((await ctl(socket, 'signal', 'HUP', 'web')).out, 'web: signalled\n');
    await rm.waitFor(/exited: web \(terminated by SIGHUP/);
  });

  it('tail shows a process\'s recent stdout or stderr; programs get SUPERVISOR_SERVER_URL', async () => {
    await rm.waitFor(/manual +\| url=/);
    assert.equal((await ctl(socket, 'tail', 'manual')).out, `hello\nurl=unix://${socket}\n`);
    assert.equal((await ctl(socket, 'tail', '--stderr', 'manual')).out, 'oops\n');
    assert.equal((await ctl(socket, 'tail', 'manual', '6')).out, `${socket}\n`.slice(-6));
  });

  it('bad requests answer 4xx and change nothing', async () => {
    // web was killed by the signal test above: let its restart (after a backoff) happen first,
    // or on a loaded machine it lands between the two snapshots.
    const webPid = async () => JSON.parse((await http(socket, 'GET', '/v1/status')).body).processes.find((p: { name: string }) => p.name === 'web').pid;
    for (const until = Date.now() + 10_000; (await webPid()) === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    const before = (await http(socket, 'GET', '/v1/status')).body;
    assert.equal((await http(socket, 'POST', '/v1/start', '{not json')).status, 400);
    assert.equal((await http(socket, 'POST', '/v1/stop', '{"names": "web"}')).status, 400);
    assert.equal((await http(socket, 'POST', '/v1/signal', '{"names": ["web"], "signal": "NOPE"}')).status, 400);
    assert.equal((await http(socket, 'POST', '/v1/start', 'x'.repeat(100_000))).status, 413);
    assert.equal((await http(socket, 'GET', '/v1/nothing')).status, 404);
    const after = (await http(socket, 'GET', '/v1/status')).body;
    const pids = (s: string) => JSON.parse(s).processes.map((p: { pid: number }) => p.pid);
    assert.deepEqual(pids(after), pids(before));
  });

  it('healthcheck and /readyz say not ready while an autostarted program is down', async () => {
    const r = await http(socket, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.ok(JSON.parse(r.body).reasons.some((x: string) => /worker:worker_00 is STOPPED/.test(x)));
    const hc = spawn(process.execPath, [BUNDLE, 'healthcheck'], { env: { ...process.env, RINGMASTER_SOCKET: socket }, stdio: 'ignore' });
    assert.equal(await new Promise((res) => hc.on('close', res)), 1);
    await ctl(socket, 'start', 'worker:*');
    // web was killed by the signal test above and comes back after its backoff
    const until = Date.now() + 10_000;
    while ((await http(socket, 'GET', '/readyz')).status !== 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await http(socket, 'GET', '/readyz')).status, 200);
    const ok = spawn(process.execPath, [BUNDLE, 'healthcheck'], { env: { ...process.env, RINGMASTER_SOCKET: socket }, stdio: 'ignore' });
    assert.equal(await new Promise((res) => ok.on('close', res)), 0);
  });

  it('GET /v1/events streams every state change as a JSON line', async () => {
    const lines: Array<Record<string, unknown>> = [];
    let buffered = '';
    const req = request({ socketPath: socket, path: '/v1/events' });
    const subscribed = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        assert.equal(res.headers['content-type'], 'application/x-ndjson');
        res.setEncoding('utf8').on('data', (d: string) => {
          buffered += d;
          const parts = buffered.split('\n');
          buffered = parts.pop()!;
          for (const p of parts) lines.push(JSON.parse(p));
        });
        resolve();
      });
      req.on('error', reject);
    });
    req.end();
    await subscribed;
    try {
      await ctl(socket, 'restart', 'manual');
      const until = Date.now() + 10_000;
      // Issue #11: the stream opens with one snapshot line per process; the changes follow.
      const changes = () => lines.filter((l) => l.name === 'manual' && !l.snapshot);
      while (changes().length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const manual = changes().map((l) => `${l.from}>${l.to}`);
      assert.deepEqual(manual, ['RUNNING>STOPPING', 'STOPPING>STOPPED', 'STOPPED>STARTING', 'STARTING>RUNNING']);
      const running = lines.find((l) => l.name === 'manual' && l.to === 'RUNNING')!;
      assert.equal(running.group, 'manual');
      assert.ok((running.pid as number) > 0);
      assert.match(running.time as string, /^\d{4}-\d\d-\d\dT/);
    } finally {
      req.destroy();
    }
  });

  it('shutdown stops everything, exits 0 and removes the socket', async () => {
    assert.deepEqual(await ctl(socket, 'shutdown'), { code: 0, out: 'Shut down\n' });
    assert.equal((await rm.wait()).code, 0);
    assert.equal(existsSync(socket), false);
  });
});

it('ctl says clearly when no ringmaster answers (exit 4)', async () => {
  const r = await ctl(path.join(tempDir(), 'none.sock'), 'status');
  assert.equal(r.code, 4);
  assert.match(r.out, /cannot reach ringmaster at .*none\.sock/);
});
