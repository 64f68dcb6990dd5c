// Issue #11 (SPEC §6): every interface gives the same answer to the same request. The decided
// table, on the JSON API, Supervisor's XML-RPC (through Python's xmlrpc.client, as supervisorctl)
// and `ringmaster ctl`, against the built binary as PID 1 with real processes; and the three
// report the same state and pid for every process, in every state, at a quiet moment.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { NO_UNSHARE, Ringmaster, canUnshare, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';
import { fault, value } from './support/xmlrpc';
import { existsSync } from 'node:fs';

const NODE = JSON.stringify(process.execPath);

interface Status {
  name: string;
  namespec: string;
  state: string;
  pid: number;
  restarts: number;
  waiting: string;
  restartAt: number | null;
  tries: number;
}

async function statuses(socket: string): Promise<Status[]> {
  const r = await httpUnix(socket, 'GET', '/v1/status');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).processes;
}

async function stateOf(socket: string, name: string): Promise<Status> {
  return (await statuses(socket)).find((p) => p.name === name)!;
}

async function until(socket: string, name: string, want: (s: Status) => boolean, what: string, ms = 15_000): Promise<Status> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await stateOf(socket, name);
    if (want(s)) return s;
    if (Date.now() > end) assert.fail(`${name}: timed out waiting for ${what}; last ${JSON.stringify(s)}`);
    await sleep(50);
  }
}

async function json(socket: string, verb: string, body: unknown) {
  const r = await httpUnix(socket, 'POST', `/v1/${verb}`, JSON.stringify(body));
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).results as Array<{ name: string; ok: boolean; action?: string; fault?: string; message?: string }>;
}

describe('one door: the same answer on every interface (issue #11, SPEC §6)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  const dir = tempDir('rm-door-');
  const socket = path.join(dir, 'rm.sock');
  let rm: Ringmaster;
  const ignoreTerm = `["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]`;
  const failOnce = (n: string) => `["sh", "-c", "if [ -e ${dir}/${n} ]; then exec sleep 1000; fi; touch ${dir}/${n}; exit 1"]`;

  before(async () => {
    rm = new Ringmaster({
      pid1: true,
      args: ['-c', writeConfig(`
settings: {socket: ${socket}, shutdown_timeout: 3s}
programs:
  up: {command: sleep 1000, startsecs: 0}
  slow: {command: sleep 1000, startsecs: 3600}
  ex_done: {command: ["sh", "-c", "exit 3"], startsecs: 0, autorestart: false}
  ex_pending: {command: ["sh", "-c", "sleep 0.2; exit 1"], startsecs: 0, autorestart: true, backoff: {initial: 60s, max: 60s}}
  fatal: {command: ["sh", "-c", "exit 1"], startsecs: 1, startretries: 0}
  stubborn_json: {command: ${ignoreTerm}, startsecs: 0, stopwaitsecs: 60}
  stubborn_rpc: {command: ${ignoreTerm}, startsecs: 0, stopwaitsecs: 60}
  stubborn_ctl: {command: ${ignoreTerm}, startsecs: 0, stopwaitsecs: 60}
  bo_json: {command: ${failOnce('bo_json')}, startsecs: 1, startretries: 5, backoff: {initial: 60s, max: 60s}}
  bo_rpc: {command: ${failOnce('bo_rpc')}, startsecs: 1, startretries: 5, backoff: {initial: 60s, max: 60s}}
  bo_ctl: {command: ${failOnce('bo_ctl')}, startsecs: 1, startretries: 5, backoff: {initial: 60s, max: 60s}}
  gate: {command: sleep 1000, startsecs: 0, autostart: false}
  w_json: {command: sleep 1000, depends_on: [gate]}
  w_rpc: {command: sleep 1000, depends_on: [gate]}
  w_ctl: {command: sleep 1000, depends_on: [gate]}
  off: {command: sleep 1000, disabled: true}
  missing: {command: /no/such/thing, autostart: false}
  node: {command: [${NODE}, "-e", "setInterval(() => {}, 1000)"], startsecs: 0}
`, dir)],
    });
    await eventually(() => existsSync(socket), 15_000, 'the control socket');
    for (const n of ['bo_json', 'bo_rpc', 'bo_ctl']) await until(socket, n, (s) => s.state === 'BACKOFF', 'BACKOFF');
    await until(socket, 'ex_pending', (s) => s.state === 'EXITED' && s.restartAt !== null, 'EXITED with a restart pending');
    await until(socket, 'fatal', (s) => s.state === 'FATAL', 'FATAL');
    await until(socket, 'ex_done', (s) => s.state === 'EXITED', 'EXITED');
    for (const n of ['w_json', 'w_rpc', 'w_ctl']) await until(socket, n, (s) => s.waiting.startsWith('waiting for gate'), 'waiting for gate');
    // STOPPING: a TERM-ignoring program, stopped without waiting.
    value(socket, 'supervisor.stopProcess', 'stubborn_rpc', false);
    await until(socket, 'stubborn_rpc', (s) => s.state === 'STOPPING', 'STOPPING');
  });

  after(async () => {
    await rm.signal('SIGTERM').catch(() => {});
    await rm.wait(20_000);
  });

  it('/v1/status, getAllProcessInfo and ctl status report the same state and pid for every process', async () => {
    const viaJson = await statuses(socket);
    const viaRpc = value(socket, 'supervisor.getAllProcessInfo') as Array<{ name: string; group: string; statename: string; pid: number }>;
    const viaCtl = (await ctl(socket, 'status')).out;
    assert.deepEqual(new Set(viaJson.map((p) => p.state)), new Set(['STOPPED', 'STARTING', 'RUNNING', 'BACKOFF', 'STOPPING', 'EXITED', 'FATAL']));
    assert.equal(viaRpc.length, viaJson.length);
    for (const p of viaJson) {
      const r = viaRpc.find((x) => x.name === p.name)!;
      assert.equal(r.statename, p.state, `${p.name} over XML-RPC`);
      assert.equal(r.pid, p.pid, `${p.name}'s pid over XML-RPC`);
      const line = viaCtl.split('\n').find((l) => l.split(/\s+/)[0] === p.namespec);
      assert.ok(line, `${p.name} in ctl status:\n${viaCtl}`);
      assert.equal(line.split(/\s+/)[1], p.state, `${p.name} in ctl status`);
      const pid = /pid (\d+)/.exec(line);
      if (pid) assert.equal(Number(pid[1]), p.pid, `${p.name}'s pid in ctl status`);
      else assert.ok(p.state !== 'RUNNING', `a RUNNING process shows its pid: ${line}`);
    }
  });

  it('stopping a process that is already STOPPING answers "not running" everywhere', async () => {
    for (const n of ['stubborn_json', 'stubborn_ctl']) {
      assert.deepEqual(await json(socket, 'stop', { names: [n], wait: false }), [{ name: n, ok: true, action: 'stopped' }]);
      await until(socket, n, (s) => s.state === 'STOPPING', 'STOPPING');
    }
    const [viaJson] = await json(socket, 'stop', { names: ['stubborn_json'] });
    assert.equal(viaJson.fault, 'NOT_RUNNING');
    fault(socket, 70, /^NOT_RUNNING: stubborn_rpc$/, 'supervisor.stopProcess', 'stubborn_rpc');
    assert.deepEqual(await ctl(socket, 'stop', 'stubborn_ctl'), { code: 1, out: 'stubborn_ctl: ERROR (not running)\n' });
    for (const n of ['stubborn_json', 'stubborn_rpc', 'stubborn_ctl']) assert.equal((await stateOf(socket, n)).state, 'STOPPING');
  });

  it('starting a process in BACKOFF starts it now, with a fresh startretries, everywhere', async () => {
    for (const n of ['bo_json', 'bo_rpc', 'bo_ctl']) assert.equal((await stateOf(socket, n)).state, 'BACKOFF');
    assert.deepEqual(await json(socket, 'start', { names: ['bo_json'] }), [{ name: 'bo_json', ok: true, action: 'started' }]);
    assert.equal(value(socket, 'supervisor.startProcess', 'bo_rpc'), true);
    assert.deepEqual(await ctl(socket, 'start', 'bo_ctl'), { code: 0, out: 'bo_ctl: started\n' });
    for (const n of ['bo_json', 'bo_rpc', 'bo_ctl']) {
      const s = await stateOf(socket, n);
      assert.equal(s.state, 'RUNNING', n);
      assert.equal(s.tries, 0, `${n}: fresh retries`);
      assert.equal(s.restartAt, null, `${n}: the pending retry is gone`);
    }
  });

  it('starting a process that is EXITED with a restart pending starts it now', async () => {
    const before = await stateOf(socket, 'ex_pending');
    assert.ok(before.restartAt !== null && before.restartAt > Date.now() / 1000 + 10, 'the restart is far off');
    assert.deepEqual(await ctl(socket, 'start', 'ex_pending'), { code: 0, out: 'ex_pending: started\n' });
    const now = await stateOf(socket, 'ex_pending');
    assert.equal(now.restarts, before.restarts + 1);
  });

  it('stopping a process that waits for its depends_on succeeds; it never starts on its own afterwards', async () => {
    assert.deepEqual(await json(socket, 'stop', { names: ['w_json'] }), [{ name: 'w_json', ok: true, action: 'stopped' }]);
    assert.equal(value(socket, 'supervisor.stopProcess', 'w_rpc'), true);
    assert.deepEqual(await ctl(socket, 'stop', 'w_ctl'), { code: 0, out: 'w_ctl: stopped\n' });
    for (const n of ['w_json', 'w_rpc', 'w_ctl']) assert.deepEqual([(await stateOf(socket, n)).state, (await stateOf(socket, n)).waiting], ['STOPPED', '']);
    assert.deepEqual(await ctl(socket, 'start', 'gate'), { code: 0, out: 'gate: started\n' });
    await sleep(1500);
    for (const n of ['w_json', 'w_rpc', 'w_ctl']) assert.equal((await stateOf(socket, n)).state, 'STOPPED', `${n} must not start on its own`);
  });

  it('starting a disabled program is refused with a message that says so', async () => {
    const [viaJson] = await json(socket, 'start', { names: ['off'] });
    assert.equal(viaJson.fault, 'DISABLED');
    assert.match(viaJson.message!, /disabled/);
    fault(socket, 30, /^FAILED: off is disabled in the config$/, 'supervisor.startProcess', 'off');
    assert.deepEqual(await ctl(socket, 'start', 'off'), { code: 1, out: 'off: ERROR (disabled)\n' });
    assert.equal((await stateOf(socket, 'off')).state, 'STOPPED');
  });

  it('starting a program whose command is missing is NO_FILE before anything is spawned', async () => {
    const [viaJson] = await json(socket, 'start', { names: ['missing'] });
    assert.equal(viaJson.fault, 'NO_FILE');
    fault(socket, 20, /^NO_FILE: can't find command '\/no\/such\/thing'$/, 'supervisor.startProcess', 'missing');
    assert.deepEqual(await ctl(socket, 'start', 'missing'), { code: 1, out: "missing: ERROR (no such file: can't find command '/no/such/thing')\n" });
    const s = await stateOf(socket, 'missing');
    assert.deepEqual([s.state, s.restarts, s.pid], ['STOPPED', 0, 0]);
    assert.equal((await httpUnix(socket, 'GET', '/v1/status')).body.includes('"spawnerr":"can\'t find'), false, 'nothing was spawned');
  });
});
