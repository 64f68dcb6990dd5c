// Issue #5: Supervisor's XML-RPC API at /RPC2, driven by Python's xmlrpc.client: the methods
// supervisorctl does not use, the shapes of what they return, and every fault code.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ringmaster, alive, eventually, sleep, tempDir } from './support/ringmaster';
import { fault, one, rpc, value } from './support/xmlrpc';

/** A raw HTTP request on the socket, for what a well-behaved client never sends. */
function raw(socket: string, method: string, urlPath: string, body?: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path: urlPath, headers: { 'content-type': 'text/xml' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const PROCESS_INFO_KEYS = ['description', 'exitstatus', 'group', 'logfile', 'name', 'now', 'pid', 'spawnerr', 'start', 'state', 'statename', 'stderr_logfile', 'stdout_logfile', 'stop'];

describe('XML-RPC through Python xmlrpc.client (issue #5)', () => {
  const dir = tempDir('rm-rpc-');
  const socket = path.join(dir, 'rm.sock');
  const configFile = path.join(dir, 'ringmaster.yaml');
  const notExecutable = path.join(dir, 'script.sh');
  let config = '';
  let rm: Ringmaster;

  before(async () => {
    writeFileSync(notExecutable, '#!/bin/sh\necho hi\n');
    chmodSync(notExecutable, 0o644);
    config = `settings: {socket: ${socket}}
programs:
  web: {command: ["sh", "-c", "printf 'hello\\\\nhello\\\\n'; exec sleep 1000"], startsecs: 0}
  cat: {command: cat, startsecs: 0}
  closed: {command: ["sh", "-c", "exec 0<&-; exec sleep 1000"], startsecs: 0}
  crashy: {command: ["sh", "-c", "exit 3"], autostart: false, startsecs: 1, startretries: 0}
  missing: {command: /no/such/thing, autostart: false}
  notexec: {command: ${notExecutable}, autostart: false}
  off: {command: sleep 1000, disabled: true}
  stubborn: {command: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], startsecs: 0, stopwaitsecs: 3}
  worker: {command: sleep 1000, numprocs: 2, startsecs: 0}
`;
    writeFileSync(configFile, config);
    rm = new Ringmaster({ args: ['-c', configFile] });
    await rm.waitFor(/worker_01 entered RUNNING/);
    await rm.waitFor(/stubborn entered RUNNING/);
  });

  after(async () => {
    if (rm.proc.exitCode === null) await rm.signal('SIGTERM').catch(() => {});
    await rm.wait(20_000);
  });

  it('identification, versions, state and pid', async () => {
    const [api, alias, version, ident, state, pid] = rpc(
      socket,
      ['supervisor.getAPIVersion'],
      ['supervisor.getVersion'],
      ['supervisor.getSupervisorVersion'],
      ['supervisor.getIdentification'],
      ['supervisor.getState'],
      ['supervisor.getPID'],
    );
    assert.equal(api.value, '3.0');
    assert.equal(alias.value, '3.0');
    assert.match(version.value as string, /^\d+\.\d+\.\d+$/);
    assert.equal(ident.value, 'ringmaster');
    assert.deepEqual(state.value, { statecode: 1, statename: 'RUNNING' });
    assert.equal(pid.value, rm.proc.pid);
  });

  it('system.listMethods, methodHelp and methodSignature', () => {
    const methods = value(socket, 'system.listMethods') as string[];
    assert.equal(methods.length, 41, 'Supervisor 4.2 lists 41 names, aliases included');
    for (const m of ['supervisor.getAllProcessInfo', 'supervisor.readProcessLog', 'supervisor.tailProcessLog', 'supervisor.clearProcessLog', 'system.multicall']) {
      assert.ok(methods.includes(m), m);
    }
    assert.deepEqual(methods, [...methods].sort());
    assert.match(value(socket, 'system.methodHelp', 'supervisor.startProcess') as string, /@param string name/);
    assert.deepEqual(value(socket, 'system.methodSignature', 'supervisor.startProcess'), ['boolean', 'string', 'boolean']);
    assert.deepEqual(value(socket, 'system.methodSignature', 'supervisor.getAllProcessInfo'), ['array']);
    fault(socket, 4, /^SIGNATURE_UNSUPPORTED$/, 'system.methodSignature', 'supervisor.nope');
    fault(socket, 4, /^SIGNATURE_UNSUPPORTED$/, 'system.methodHelp', 'nope');
  });

  it('getProcessInfo and getAllProcessInfo have Supervisor\'s keys, order and descriptions', () => {
    const info = value(socket, 'supervisor.getProcessInfo', 'worker:worker_00') as Record<string, unknown>;
    assert.deepEqual(Object.keys(info).sort(), PROCESS_INFO_KEYS);
    assert.equal(info.statename, 'RUNNING');
    assert.equal(info.state, 20);
    assert.equal(info.group, 'worker');
    assert.match(info.description as string, /^pid \d+, uptime 0:\d\d:\d\d$/);
    assert.ok(alive(info.pid as number));
    const all = value(socket, 'supervisor.getAllProcessInfo') as Array<Record<string, unknown>>;
    const names = all.map((p) => `${p.group}:${p.name}`);
    assert.deepEqual(names, [...names].sort());
    assert.equal(all.length, 10);
    const missing = all.find((p) => p.name === 'missing')!;
    assert.equal(missing.statename, 'STOPPED');
    assert.equal(missing.description, 'Not started');
    assert.equal(missing.pid, 0);
  });

  it('reads and tails a process log with Supervisor\'s offsets; clears it', async () => {
    await eventually(() => (value(socket, 'supervisor.readProcessStdoutLog', 'web', 0, 0) as string) === 'hello\nhello\n');
    assert.deepEqual(value(socket, 'supervisor.tailProcessStdoutLog', 'web', 0, 3), ['lo\n', 12, true]);
    assert.deepEqual(value(socket, 'supervisor.tailProcessLog', 'web', 12, 100), ['', 12, false]);
    assert.equal(value(socket, 'supervisor.readProcessStdoutLog', 'web', -6, 0), 'hello\n');
    assert.equal(value(socket, 'supervisor.readProcessLog', 'web', 6, 3), 'hel');
    assert.equal(value(socket, 'supervisor.readProcessStderrLog', 'web', 0, 0), '');
    fault(socket, 3, /^BAD_ARGUMENTS$/, 'supervisor.readProcessStdoutLog', 'web', -1, 5);
    fault(socket, 3, /^BAD_ARGUMENTS$/, 'supervisor.readProcessStdoutLog', 'web', 0, -1);
    fault(socket, 3, /^BAD_ARGUMENTS$/, 'supervisor.readLog', -1, 5);
    assert.match(value(socket, 'supervisor.readLog', 0, 0) as string, /spawned: web with pid \d+/);
    assert.equal(value(socket, 'supervisor.clearProcessLogs', 'web'), true);
    assert.equal(value(socket, 'supervisor.readProcessStdoutLog', 'web', 0, 0), '');
    assert.equal(value(socket, 'supervisor.clearLog'), true);
    const cleared = value(socket, 'supervisor.clearAllProcessLogs') as Array<Record<string, unknown>>;
    assert.equal(cleared.length, 10);
    assert.ok(cleared.every((r) => r.status === 80 && r.description === 'OK'));
  });

  it('sendProcessStdin reaches the program; a closed stdin is NO_FILE, a stopped process NOT_RUNNING', async () => {
    assert.equal(value(socket, 'supervisor.sendProcessStdin', 'cat', 'ping héllo\n'), true);
    await eventually(() => (value(socket, 'supervisor.readProcessStdoutLog', 'cat', 0, 0) as string).includes('ping héllo\n'), 5000, 'cat echoes');
    fault(socket, 20, /^NO_FILE: closed$/, 'supervisor.sendProcessStdin', 'closed', 'x');
    fault(socket, 70, /^NOT_RUNNING: missing$/, 'supervisor.sendProcessStdin', 'missing', 'x');
    fault(socket, 2, /^INCORRECT_PARAMETERS/, 'supervisor.sendProcessStdin', 'cat', 5);
  });

  it('start, stop and signal: each fault code with Supervisor\'s text', async () => {
    fault(socket, 1, /^UNKNOWN_METHOD$/, 'supervisor.nope');
    fault(socket, 1, /^UNKNOWN_METHOD$/, 'nope.getPID');
    fault(socket, 1, /^UNKNOWN_METHOD$/, 'supervisor._update', 'x');
    fault(socket, 1, /^UNKNOWN_METHOD$/, 'supervisor.getPID.x');
    fault(socket, 2, /^INCORRECT_PARAMETERS$/, 'supervisor.getProcessInfo');
    fault(socket, 2, /^INCORRECT_PARAMETERS$/, 'supervisor.getProcessInfo', 7);
    fault(socket, 2, /^INCORRECT_PARAMETERS$/, 'supervisor.startProcess', 'web', true, 3);
    fault(socket, 10, /^BAD_NAME: nosuch$/, 'supervisor.getProcessInfo', 'nosuch');
    fault(socket, 10, /^BAD_NAME: worker$/, 'supervisor.getProcessInfo', 'worker');
    fault(socket, 10, /^BAD_NAME: nosuch:\*$/, 'supervisor.stopProcess', 'nosuch:*');
    fault(socket, 10, /^BAD_NAME: nosuch$/, 'supervisor.startProcessGroup', 'nosuch');
    fault(socket, 11, /^BAD_SIGNAL: NOPE$/, 'supervisor.signalProcess', 'web', 'NOPE');
    fault(socket, 20, /^NO_FILE: can't find command '\/no\/such\/thing'$/, 'supervisor.startProcess', 'missing');
    fault(socket, 21, /^NOT_EXECUTABLE: command at '.*script\.sh' is not executable$/, 'supervisor.startProcess', 'notexec');
    fault(socket, 30, /^FAILED: off is disabled/, 'supervisor.startProcess', 'off');
    fault(socket, 50, /^SPAWN_ERROR: crashy$/, 'supervisor.startProcess', 'crashy');
    fault(socket, 60, /^ALREADY_STARTED: web$/, 'supervisor.startProcess', 'web');
    fault(socket, 70, /^NOT_RUNNING: missing$/, 'supervisor.stopProcess', 'missing');
    fault(socket, 70, /^NOT_RUNNING: crashy$/, 'supervisor.signalProcess', 'crashy', 'HUP');
    // stubborn ignores TERM: it stays STOPPING for stopwaitsecs, and a start meanwhile ends abnormally
    assert.equal(value(socket, 'supervisor.stopProcess', 'stubborn', false), true);
    assert.equal((value(socket, 'supervisor.getProcessInfo', 'stubborn') as Record<string, unknown>).statename, 'STOPPING');
    fault(socket, 40, /^ABNORMAL_TERMINATION: stubborn$/, 'supervisor.startProcess', 'stubborn');
    await eventually(() => (value(socket, 'supervisor.getProcessInfo', 'stubborn') as Record<string, unknown>).statename === 'STOPPED', 10_000, 'stubborn killed');
    assert.equal(value(socket, 'supervisor.startProcess', 'stubborn'), true);
  });

  it('group and all forms return Supervisor\'s result structs', () => {
    assert.deepEqual(value(socket, 'supervisor.startProcessGroup', 'worker'), [], 'running processes are left out');
    const stopped = value(socket, 'supervisor.stopProcessGroup', 'worker') as Array<Record<string, unknown>>;
    assert.deepEqual(stopped.map((r) => `${r.group}:${r.name}:${r.status}:${r.description}`).sort(), ['worker:worker_00:80:OK', 'worker:worker_01:80:OK']);
    const started = value(socket, 'supervisor.startProcess', 'worker:*') as Array<Record<string, unknown>>;
    assert.equal(started.length, 2);
    assert.ok(started.every((r) => r.status === 80));
    const signalled = value(socket, 'supervisor.signalAllProcesses', 'CONT') as Array<Record<string, unknown>>;
    assert.ok(signalled.length >= 6 && signalled.every((r) => r.status === 80));
    const byNumber = value(socket, 'supervisor.signalProcessGroup', 'worker', 18) as Array<Record<string, unknown>>;
    assert.equal(byNumber.length, 2);
    fault(socket, 10, /^BAD_NAME: nosuch$/, 'supervisor.signalProcessGroup', 'nosuch', 'HUP');
    const startAll = value(socket, 'supervisor.startAllProcesses', false) as Array<Record<string, unknown>>;
    const outcome = Object.fromEntries(startAll.map((r) => [r.name, r.status]));
    assert.equal(outcome.missing, 20);
    assert.equal(outcome.notexec, 21);
    assert.equal(outcome.off, 30);
  });

  it('system.multicall: raw values and fault structs, one after another; no nesting', () => {
    const [results] = rpc(socket, [
      'system.multicall',
      [[
        { methodName: 'supervisor.getPID', params: [] },
        { methodName: 'supervisor.nope', params: [] },
        { methodName: 'supervisor.getProcessInfo', params: ['nosuch'] },
        { methodName: 'system.multicall', params: [[]] },
        { methodName: 'supervisor.getAPIVersion' },
      ]],
    ]);
    assert.deepEqual(results.value, [
      rm.proc.pid,
      { faultCode: 1, faultString: 'UNKNOWN_METHOD' },
      { faultCode: 10, faultString: 'BAD_NAME: nosuch' },
      { faultCode: 2, faultString: 'INCORRECT_PARAMETERS: Recursive system.multicall forbidden' },
      '3.0',
    ]);
  });

  it('getAllConfigInfo, reloadConfig, addProcessGroup, removeProcessGroup and their faults', async () => {
    const infos = value(socket, 'supervisor.getAllConfigInfo') as Array<Record<string, unknown>>;
    assert.deepEqual(infos.map((i) => i.name), [...infos.map((i) => i.name as string)].sort());
    const web = infos.find((i) => i.name === 'web')!;
    for (const key of ['autostart', 'command', 'directory', 'exitcodes', 'group', 'group_prio', 'inuse', 'killasgroup', 'process_prio', 'redirect_stderr', 'serverurl', 'startretries', 'startsecs', 'stdout_logfile', 'stopsignal', 'stopwaitsecs', 'uid']) {
      assert.ok(key in web, key);
    }
    assert.equal(web.stopsignal, 15);
    assert.equal(web.inuse, true);
    assert.equal(web.directory, 'none');

    fault(socket, 90, /^ALREADY_ADDED: web$/, 'supervisor.addProcessGroup', 'web');
    fault(socket, 91, /^STILL_RUNNING: web$/, 'supervisor.removeProcessGroup', 'web');
    fault(socket, 10, /^BAD_NAME: nosuch$/, 'supervisor.removeProcessGroup', 'nosuch');
    fault(socket, 10, /^BAD_NAME: nosuch$/, 'supervisor.addProcessGroup', 'nosuch');

    writeFileSync(configFile, config + '  extra: {command: sleep 1000, startsecs: 0}\n');
    assert.deepEqual(value(socket, 'supervisor.reloadConfig'), [[['extra'], [], []]]);
    assert.equal(value(socket, 'supervisor.addProcessGroup', 'extra'), true);
    await eventually(() => (value(socket, 'supervisor.getProcessInfo', 'extra') as Record<string, unknown>).statename === 'RUNNING', 5000, 'extra runs');
    const extraPid = (value(socket, 'supervisor.getProcessInfo', 'extra') as Record<string, unknown>).pid as number;
    assert.equal(value(socket, 'supervisor.stopProcess', 'extra'), true);
    assert.equal(alive(extraPid), false);
    assert.equal(value(socket, 'supervisor.removeProcessGroup', 'extra'), true);
    fault(socket, 10, /^BAD_NAME: extra$/, 'supervisor.getProcessInfo', 'extra');

    writeFileSync(configFile, config + '  broken: {command: sleep 1000, autorestart: sometimes}\n');
    fault(socket, 92, /^CANT_REREAD: .*ringmaster\.yaml:\d+:\d+: programs\.broken\.autorestart: /, 'supervisor.reloadConfig');
    writeFileSync(configFile, config);
    assert.equal(value(socket, 'supervisor.sendRemoteCommEvent', 'type', 'data'), true);
  });

  it('what is not XML-RPC is answered with HTTP 400 or 413 and changes nothing', async () => {
    const before = value(socket, 'supervisor.getAllProcessInfo') as Array<Record<string, unknown>>;
    const call = (body: string) => raw(socket, 'POST', '/RPC2', body);
    assert.equal((await raw(socket, 'GET', '/RPC2')).status, 400);
    assert.equal((await call('<methodCall><methodName>supervisor.getPID')).status, 400);
    assert.equal((await call('<methodCall><params/></methodCall>')).status, 400);
    assert.equal((await call('not xml at all')).status, 400);
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><methodCall><methodName>&lol2;</methodName></methodCall>`;
    assert.equal((await call(laughs)).status, 400);
    const deep = `<methodCall><methodName>supervisor.getProcessInfo</methodName><params><param>${'<value><array><data>'.repeat(5000)}${'</data></array></value>'.repeat(5000)}</param></params></methodCall>`;
    assert.equal((await call(deep)).status, 400);
    assert.equal((await raw(socket, 'POST', '/RPC2', Buffer.alloc(5 * 1024 * 1024, 0x41))).status, 413);
    // xmlrpc.client sends the whole body before it reads: it must see the 413, not a broken pipe
    assert.deepEqual(one(socket, 'supervisor.sendProcessStdin', 'cat', 'x'.repeat(5 * 1024 * 1024)), { http: 413 });
    const wrongType = await call('<methodCall><methodName>supervisor.stopProcess</methodName><params><param><value><int>5</int></value></param></params></methodCall>');
    assert.equal(wrongType.status, 200);
    assert.match(wrongType.body, /<name>faultCode<\/name>\s*<value><int>2<\/int>/);
    const after = value(socket, 'supervisor.getAllProcessInfo') as Array<Record<string, unknown>>;
    assert.deepEqual(after.map((p) => [p.name, p.pid, p.statename]), before.map((p) => [p.name, p.pid, p.statename]));
  });

  it('while shutting down: SHUTDOWN_STATE, except the calls Supervisor still answers', async () => {
    assert.equal((value(socket, 'supervisor.getProcessInfo', 'stubborn') as Record<string, unknown>).statename, 'RUNNING');
    assert.equal(value(socket, 'supervisor.shutdown'), true);
    await rm.waitFor(/stopping .*stubborn/);
    fault(socket, 6, /^SHUTDOWN_STATE$/, 'supervisor.getState');
    fault(socket, 6, /^SHUTDOWN_STATE$/, 'supervisor.startProcess', 'web');
    assert.ok((value(socket, 'system.listMethods') as string[]).length > 0);
    assert.equal(value(socket, 'supervisor.sendRemoteCommEvent', 'type', 'data'), true);
    const exit = await rm.wait(20_000);
    assert.equal(exit.code, 0);
    await sleep(0);
  });
});
