// Supervisor's events and event listeners (SPEC §2 eventlisteners, reference §4), with real
// Python listeners written the way Supervisor's docs and plugins write them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ringmaster, eventually, tempDir, writeConfig } from './support/ringmaster';

/** Plain protocol, no library: READY, read header + len chars, log, answer from a script of results. */
const PLAIN_LISTENER = `import os, sys
log = open(os.environ['EVENT_LOG'], 'a')
results = os.environ.get('RESULTS', '').split(',')
n = 0
while True:
    sys.stdout.write('READY\\n'); sys.stdout.flush()
    header = sys.stdin.readline()
    h = dict(x.split(':', 1) for x in header.split())
    payload = sys.stdin.read(int(h['len']))
    log.write(header.rstrip('\\n') + '|' + payload.replace('\\n', '\\\\n') + '\\n'); log.flush()
    result = results[n] if n < len(results) and results[n] else 'OK'
    n += 1
    sys.stdout.write('RESULT %d\\n%s' % (len(result), result)); sys.stdout.flush()
`;

interface Received {
  headers: Record<string, string>;
  payload: string;
}

function received(file: string): Received[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((line) => {
    const bar = line.indexOf('|');
    const headers = Object.fromEntries(line.slice(0, bar).split(' ').map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)]));
    return { headers, payload: line.slice(bar + 1).replace(/\\n/g, '\n') };
  });
}

function setup(): { dir: string; log: string; listener: string } {
  const dir = tempDir('rm-events-');
  const listener = path.join(dir, 'listener.py');
  writeFileSync(listener, PLAIN_LISTENER);
  return { dir, log: path.join(dir, 'events.log'), listener };
}

async function stop(rm: Ringmaster): Promise<void> {
  if (rm.proc.exitCode === null && rm.proc.signalCode === null) rm.proc.kill('SIGTERM');
  await rm.wait(15_000);
}

describe('event listeners (SPEC §2 eventlisteners, reference §4)', () => {
  it('a crash produces PROCESS_STATE_EXITED then STARTING with Supervisor\'s header and payload', async () => {
    const { dir, log, listener } = setup();
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  crasher: {command: sh -c "sleep 1.2; exit 3", startsecs: 1, backoff: {initial: 100ms}}
eventlisteners:
  watcher: {command: python3 ${listener}, events: [PROCESS_STATE], buffer_size: 50}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      await eventually(() => received(log).some((e) => e.headers.eventname === 'PROCESS_STATE_STARTING' && /from_state:EXITED/.test(e.payload)), 15_000, 'STARTING after EXITED');
      const events = received(log);
      const exited = events.findIndex((e) => e.headers.eventname === 'PROCESS_STATE_EXITED');
      assert.ok(exited >= 0, 'an EXITED event');
      const [ex, st] = [events[exited], events[exited + 1]];
      assert.match(ex.payload, /^processname:crasher groupname:crasher from_state:RUNNING expected:0 pid:\d+$/);
      assert.equal(st.headers.eventname, 'PROCESS_STATE_STARTING');
      assert.equal(st.payload, 'processname:crasher groupname:crasher from_state:EXITED tries:0');
      // The header, token by token, and serials that only go up.
      assert.deepEqual(Object.keys(ex.headers), ['ver', 'server', 'serial', 'pool', 'poolserial', 'eventname', 'len']);
      assert.equal(ex.headers.ver, '3.0');
      assert.equal(ex.headers.server, 'supervisor');
      assert.equal(ex.headers.pool, 'watcher');
      assert.equal(Number(ex.headers.len), ex.payload.length);
      const serials = events.map((e) => Number(e.headers.serial));
      assert.deepEqual(serials, [...serials].sort((a, b) => a - b));
      assert.equal(Number(st.headers.serial), Number(ex.headers.serial) + 1);
      // The listener's stdout is the protocol channel: never on ringmaster's output.
      assert.doesNotMatch(rm.stdout, /READY|RESULT/);
    } finally {
      await stop(rm);
    }
  });

  it('FAIL redelivers the same event, same serial and poolserial, until OK', async () => {
    const { dir, log, listener } = setup();
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  a: {command: sleep 100, startsecs: 0}
eventlisteners:
  picky: {command: python3 ${listener}, events: [PROCESS_GROUP_ADDED], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log, RESULTS: 'FAIL,NOPE' } });
    try {
      await eventually(() => received(log).length >= 4, 15_000, 'four deliveries');
      const [first, second, third, fourth] = received(log);
      for (const e of [second, third]) {
        assert.equal(e.headers.serial, first.headers.serial);
        assert.equal(e.headers.poolserial, first.headers.poolserial);
        assert.equal(e.payload, first.payload);
      }
      assert.equal(Number(fourth.headers.serial), Number(first.headers.serial) + 1, 'after OK, the next event');
      assert.equal((rm.stdout.match(/picky: event was rejected/g) ?? []).length, 2);
    } finally {
      await stop(rm);
    }
  });

  it('a full buffer drops the oldest events; a listener gets only the newest once READY', async () => {
    const { dir, log } = setup();
    const gate = path.join(dir, 'go');
    const slow = path.join(dir, 'slow.py');
    // Running at once (startsecs 0) but READY only once the test says so.
    writeFileSync(slow, `import os, sys, time\nlog = open(os.environ['EVENT_LOG'], 'a')\nfor _ in range(300):\n    if os.path.exists(${JSON.stringify(gate)}): break\n    time.sleep(0.05)\n` + PLAIN_LISTENER.split('\n').slice(2).join('\n'));
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  a: {command: sleep 100, startsecs: 0}
  b: {command: sleep 100, startsecs: 0}
  c: {command: sleep 100, startsecs: 0}
eventlisteners:
  small: {command: python3 ${slow}, events: [PROCESS_STATE], buffer_size: 2, startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      // 8 events (STARTING and RUNNING of a, b, c and the listener): serials 0..7, 0..5 dropped.
      await rm.waitFor(/discarding event 5\b/, 15_000);
      assert.deepEqual([...rm.stderr.matchAll(/pool small event buffer overflowed, discarding event (\d+)/g)].map((m) => Number(m[1])), [0, 1, 2, 3, 4, 5]);
      writeFileSync(gate, '');
      await eventually(() => received(log).length >= 2, 15_000, 'the two buffered events');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(received(log).map((e) => Number(e.headers.serial)), [6, 7]);
      assert.deepEqual(received(log).map((e) => Number(e.headers.poolserial)), [6, 7]);
    } finally {
      await stop(rm);
    }
  });

  it('numprocs listeners share a pool: an event goes to a READY listener while another is busy, each event once', async () => {
    const dir = tempDir('rm-events-');
    const log = path.join(dir, 'events.log');
    const script = path.join(dir, 'slow_listener.py');
    writeFileSync(script, `import os, sys, time
log = open(os.environ['EVENT_LOG'], 'a')
while True:
    sys.stdout.write('READY\\n'); sys.stdout.flush()
    h = dict(x.split(':', 1) for x in sys.stdin.readline().split())
    sys.stdin.read(int(h['len']))
    log.write('%s %s\\n' % (os.environ['SUPERVISOR_PROCESS_NAME'], h['serial'])); log.flush()
    time.sleep(0.4)
    sys.stdout.write('RESULT 2\\nOK'); sys.stdout.flush()
`);
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  a: {command: sleep 100, startsecs: 0}
  b: {command: sleep 100, startsecs: 0}
  c: {command: sleep 100, startsecs: 0}
eventlisteners:
  pool: {command: python3 ${script}, events: [PROCESS_STATE], numprocs: 2, startsecs: 0, buffer_size: 50}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    const deliveries = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' ')) : []);
    try {
      // STARTING and RUNNING of a, b, c and of both listeners: 10 events, serials 0..9.
      await eventually(() => deliveries().length >= 10, 20_000, 'ten deliveries');
      await new Promise((r) => setTimeout(r, 500));
      const got = deliveries();
      assert.deepEqual(got.map(([, serial]) => Number(serial)).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each event exactly once');
      assert.deepEqual([...new Set(got.map(([name]) => name))].sort(), ['pool_00', 'pool_01'], 'both listeners of the pool got events');
    } finally {
      await stop(rm);
    }
  });

  it('SUPERVISOR_STATE_CHANGE_RUNNING at start and _STOPPING at shutdown, PROCESS_GROUP_ADDED per group', async () => {
    const { dir, log, listener } = setup();
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  slow: {command: [sh, -c, "trap '' TERM; sleep 100"], stopwaitsecs: 1}
eventlisteners:
  states: {command: python3 ${listener}, events: [SUPERVISOR_STATE_CHANGE, PROCESS_GROUP], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      await eventually(() => received(log).length >= 3, 15_000, 'the start events');
      rm.proc.kill('SIGTERM');
      // slow ignores TERM for stopwaitsecs: the listener, stopped last, has time to take the event.
      await eventually(() => received(log).some((e) => e.headers.eventname === 'SUPERVISOR_STATE_CHANGE_STOPPING'), 15_000, 'STOPPING');
      const names = received(log).map((e) => [e.headers.eventname, e.payload]);
      assert.deepEqual(names, [
        ['PROCESS_GROUP_ADDED', 'groupname:states\n'],
        ['PROCESS_GROUP_ADDED', 'groupname:slow\n'],
        ['SUPERVISOR_STATE_CHANGE_RUNNING', ''],
        ['SUPERVISOR_STATE_CHANGE_STOPPING', ''],
      ]);
      assert.equal((await rm.wait(15_000)).code, 0);
    } finally {
      await stop(rm);
    }
  });

  it('a listener that breaks the protocol goes UNKNOWN and gets no more events', async () => {
    const { dir, log } = setup();
    const rude = path.join(dir, 'rude.py');
    writeFileSync(rude, "import sys, time\nsys.stdout.write('READY\\nhello\\n'); sys.stdout.flush()\ntime.sleep(100)\n");
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  a: {command: sleep 100, startsecs: 0}
eventlisteners:
  rude: {command: python3 ${rude}, events: [EVENT], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      await rm.waitFor(/rude: has entered the UNKNOWN state and will no longer receive events/, 15_000);
    } finally {
      await stop(rm);
    }
  });

  it('PROCESS_LOG_STDOUT carries the output of a program with stdout_events_enabled', async () => {
    const { dir, log, listener } = setup();
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  talker: {command: sh -c "sleep 0.5; echo hello events; sleep 100", stdout_events_enabled: true}
  quiet: {command: sh -c "sleep 0.5; echo not an event; sleep 100"}
eventlisteners:
  logs: {command: python3 ${listener}, events: [PROCESS_LOG], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      await eventually(() => received(log).length >= 1, 15_000, 'a PROCESS_LOG event');
      const [e] = received(log);
      assert.equal(e.headers.eventname, 'PROCESS_LOG_STDOUT');
      assert.match(e.payload, /^processname:talker groupname:talker pid:\d+ channel:stdout\nhello events\n$/);
      await rm.waitFor(/quiet +\| not an event/);
      assert.ok(received(log).every((x) => !x.payload.includes('not an event')));
      assert.match(rm.stdout, /talker +\| hello events/, 'the output is still printed');
    } finally {
      await stop(rm);
    }
  });

  it('capture mode: text between the XSUPERVISOR tokens arrives as PROCESS_COMMUNICATION_STDOUT and is not printed', async () => {
    const { dir, log, listener } = setup();
    const config = writeConfig(`settings: {socket: ${dir}/s.sock}
programs:
  reporter:
    command: [sh, -c, "sleep 0.5; printf 'visible <!--XSUPERVISOR:BEGIN-->job 7: done<!--XSUPERVISOR:END--> line\\n'; sleep 100"]
    stdout_capture_maxbytes: 1MB
eventlisteners:
  comm: {command: python3 ${listener}, events: [PROCESS_COMMUNICATION], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      await eventually(() => received(log).length >= 1, 15_000, 'a PROCESS_COMMUNICATION event');
      const [e] = received(log);
      assert.equal(e.headers.eventname, 'PROCESS_COMMUNICATION_STDOUT');
      assert.match(e.payload, /^processname:reporter groupname:reporter pid:\d+\njob 7: done$/);
      await rm.waitFor(/reporter +\| visible +line/);
      assert.doesNotMatch(rm.stdout, /job 7|XSUPERVISOR/);
    } finally {
      await stop(rm);
    }
  });

  it('the classic container recipe: a supervisord.conf listener that kills its parent on PROCESS_STATE_FATAL ends the container', async () => {
    const dir = tempDir('rm-events-');
    const killer = path.join(dir, 'kill_supervisor.py');
    // As people write it, with Supervisor's own childutils (Debian's python3-supervisor).
    writeFileSync(killer, `import os, signal, sys
from supervisor import childutils
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    if headers['eventname'] == 'PROCESS_STATE_FATAL':
        sys.stderr.write('fatal: ' + payload + '\\n'); sys.stderr.flush()
        os.kill(os.getppid(), signal.SIGTERM)
    childutils.listener.ok(sys.stdout)
`);
    const conf = path.join(dir, 'supervisord.conf');
    writeFileSync(conf, `[supervisord]
nodaemon=true
[unix_http_server]
file=%(here)s/s.sock
[program:app]
command=sh -c "exit 1"
startretries=1
[eventlistener:fatal_killer]
command=/usr/bin/python3 ${killer}
events=PROCESS_STATE_FATAL
`);
    const rm = new Ringmaster({ args: ['-c', conf] });
    try {
      const exit = await rm.wait(30_000);
      assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}\n${rm.stdout}\n${rm.stderr}`);
      assert.match(rm.stderr, /fatal_killer \| fatal: processname:app groupname:app from_state:BACKOFF/);
      assert.match(rm.stdout, /received SIGTERM/);
    } finally {
      await stop(rm);
    }
  });
});

describe('event listeners and the exit policy (SPEC §5)', () => {
  it('under exit_policy: all, a listener that runs on does not keep the container alive', async () => {
    const { dir, log, listener } = setup();
    const config = writeConfig(`settings: {socket: ${dir}/s.sock, exit_policy: all}
programs:
  job: {command: sh -c "sleep 1.5; exit 0", autorestart: false}
eventlisteners:
  watcher: {command: python3 ${listener}, events: [PROCESS_STATE_EXITED], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    try {
      const exit = await rm.wait(20_000);
      assert.equal(exit.code, 0, rm.stdout);
      assert.match(rm.stdout, /job exited \(exit_policy: all\)/);
    } finally {
      await stop(rm);
    }
  });
});

describe('listeners calling back over SUPERVISOR_SERVER_URL (XML-RPC)', () => {
  it('a listener calls getAllProcessInfo on PROCESS_STATE_RUNNING; sendRemoteCommEvent reaches it as REMOTE_COMMUNICATION', async () => {
    const dir = tempDir('rm-events-');
    const log = path.join(dir, 'events.log');
    const script = path.join(dir, 'rpc_listener.py');
    // As superlance's plugins do it: childutils for the protocol and for the RPC proxy.
    writeFileSync(script, `import json, os, sys
from supervisor import childutils
rpc = childutils.getRPCInterface(os.environ)
log = open(os.environ['EVENT_LOG'], 'a')
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    if headers['eventname'] == 'PROCESS_STATE_RUNNING' and 'processname:web ' in payload:
        infos = rpc.supervisor.getAllProcessInfo()
        log.write(json.dumps({'url': os.environ['SUPERVISOR_SERVER_URL'], 'infos': [(i['group'], i['name'], i['statename']) for i in infos]}) + '\\n')
    elif headers['eventname'] == 'REMOTE_COMMUNICATION':
        log.write(json.dumps({'remote': payload, 'serial': headers['serial']}) + '\\n')
    log.flush()
    childutils.listener.ok(sys.stdout)
`);
    const socket = path.join(dir, 's.sock');
    const config = writeConfig(`settings: {socket: ${socket}}
programs:
  web: {command: sleep 100, startsecs: 1}
eventlisteners:
  rpc: {command: /usr/bin/python3 ${script}, events: [PROCESS_STATE_RUNNING, REMOTE_COMMUNICATION], startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) : []);
    try {
      await eventually(() => lines().length >= 1, 20_000, 'the listener\'s getAllProcessInfo');
      const [first] = lines();
      assert.equal(first.url, `unix://${socket}`);
      assert.deepEqual(first.infos, [['rpc', 'rpc', 'RUNNING'], ['web', 'web', 'RUNNING']]);
      const sent = spawnSync('/usr/bin/python3', ['-c', `import sys
from supervisor.xmlrpc import SupervisorTransport
import xmlrpc.client
t = SupervisorTransport(None, None, serverurl='unix://${socket}')
p = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t)
print(p.supervisor.sendRemoteCommEvent('deploy', 'v2 is out'))`], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(sent.stdout.trim(), 'True', sent.stderr);
      await eventually(() => lines().some((l) => l.remote !== undefined), 15_000, 'REMOTE_COMMUNICATION');
      assert.equal(lines().find((l) => l.remote !== undefined).remote, 'type:deploy\nv2 is out');
    } finally {
      await stop(rm);
    }
  });
});

describe('GET /v1/events (issue #7: the same events as JSON)', () => {
  it('streams every event as one JSON object per line', async () => {
    const { dir, log, listener } = setup();
    const socket = path.join(dir, 's.sock');
    // TICK_5 is made only while a listener subscribes to it (no timer otherwise: issue #17).
    const config = writeConfig(`settings: {socket: ${socket}}
programs:
  crasher: {command: sh -c "sleep 1.2; exit 3", startsecs: 1, autorestart: false}
  keep: {command: sleep 100}
eventlisteners:
  ticker: {command: python3 ${listener}, events: [TICK_5]}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config], env: { EVENT_LOG: log } });
    const lines: Array<Record<string, unknown>> = [];
    let req: ReturnType<typeof request> | undefined;
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      req = request({ socketPath: socket, path: '/v1/events' }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /ndjson/);
        let buf = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            lines.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
          }
        });
      });
      req.on('error', () => {});
      req.end();
      await eventually(() => lines.some((l) => l.eventname === 'PROCESS_STATE_EXITED'), 15_000, 'EXITED on the stream');
      const exited = lines.find((l) => l.eventname === 'PROCESS_STATE_EXITED')!;
      assert.deepEqual(Object.keys(exited.fields as object), ['processname', 'groupname', 'from_state', 'expected', 'pid']);
      assert.equal((exited.fields as Record<string, unknown>).processname, 'crasher');
      assert.equal((exited.fields as Record<string, unknown>).expected, 0);
      assert.equal(typeof exited.time, 'string');
      assert.equal(exited.serial, null, 'no listener pool took it, so it has no serial');
      assert.equal(exited.name, 'crasher');
      assert.equal(exited.to, 'EXITED');
      // TICK_5 at the next 5-second boundary, `when` its start.
      await eventually(() => lines.some((l) => l.eventname === 'TICK_5'), 8_000, 'TICK_5');
      const tick = lines.find((l) => l.eventname === 'TICK_5')!;
      assert.equal(((tick.fields as Record<string, number>).when) % 5, 0);
      assert.ok(lines.some((l) => l.eventname === 'PROCESS_STATE_RUNNING' && (l.fields as Record<string, unknown>).processname === 'keep'));
    } finally {
      req?.destroy();
      await stop(rm);
    }
  });
});
