// SPEC §10 `ready:` end to end: the built dist/ringmaster.cjs as PID 1 of a new pid namespace,
// real programs telling it they are ready through raw sd_notify datagrams (python3), Debian's
// systemd-notify called from a shell script (not the main pid), s6's notification fd and a file;
// depends_on and /readyz waiting for that; STATUS= in ctl, JSON and XML-RPC; ready_timeout,
// watchdog and MAINPID; abstract addresses, then path sockets (settings.notify_dir).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { NO_UNSHARE, Ringmaster, alive, canUnshare, tempDir, writeConfig } from './support/ringmaster';
import { value } from './support/xmlrpc';

const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';
const skip = !canUnshare() ? NO_UNSHARE : !existsSync(SYSTEMD_NOTIFY) ? `${SYSTEMD_NOTIFY} is missing (Debian's systemd package)` : false;

/** python3 sending sd_notify datagrams as sd_notify(3) does; `steps` is python run in between. */
function pyNotify(steps: string): string {
  const script = [
    'import os, socket, sys, time',
    "a = os.environ['NOTIFY_SOCKET']",
    "a = '\\0' + a[1:] if a[0] == '@' else a",
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    'def notify(m): s.sendto(m.encode(), a)',
    ...steps.split(';').map((x) => x.trim()),
  ].join('\n');
  return JSON.stringify(['python3', '-c', script]);
}

interface Snap {
  name: string;
  state: string;
  pid: number;
  description: string;
  stopped: { text: string } | null;
}

async function statusOf(socket: string, name: string): Promise<Snap> {
  const r = await httpUnix(socket, 'GET', '/v1/status');
  const p = (JSON.parse(r.body).processes as Snap[]).find((x) => x.name === name);
  assert.ok(p, `no process ${name}`);
  return p;
}

describe('ready: notify (abstract), fd:N and file:PATH gate RUNNING, depends_on and /readyz', { skip }, () => {
  const dir = tempDir('rm-ready-');
  const socket = path.join(dir, 'rm.sock');
  const go = path.join(dir, 'go');
  const release = path.join(dir, 'release-pyabs');
  let rm: Ringmaster;

  before(() => {
    writeFileSync(go, 'left from an earlier run\n'); // must not count: it is there before the start
    const file = writeConfig(
      `
settings: {socket: ${socket}, shutdown_timeout: 10s}
programs:
  pyabs:
    command: ${pyNotify(`notify('STATUS=warming up'); print('pyabs waiting', flush=True); exec("while not os.path.exists('${release}'): time.sleep(0.05)"); notify('READY=1\\nSTATUS=serving 42 requests'); time.sleep(1000)`)}
    ready: notify
    startsecs: 0
  shnotify:
    command: ["sh", "-c", "echo shnotify starting; ${SYSTEMD_NOTIFY} --ready --status='ready from a shell'; echo shnotify notified; exec sleep 1000"]
    ready: notify
  fdp:
    command: ["sh", "-c", "echo fdp writing; echo >&5; exec sleep 1000"]
    ready: fd:5
  gate:
    command: ["sleep", "1000"]
    ready: file:${go}
  dependent:
    command: ["sleep", "1000"]
    startsecs: 0
    depends_on: {gate: {condition: started}}
`,
      dir,
    );
    rm = new Ringmaster({ args: ['-c', file], pid1: true });
  });
  after(async () => {
    rm.kill();
    await rm.wait(15_000);
  });

  it('sd_notify from python over an abstract address: STARTING with its STATUS until READY=1 (startsecs: 0 does not apply)', async () => {
    await rm.waitFor(/pyabs\s+\| pyabs waiting/, 20_000);
    const starting = await statusOf(socket, 'pyabs');
    assert.equal(starting.state, 'STARTING');
    // Its STATUS= once it came (the datagram was sent before the line was printed).
    assert.equal(starting.description, 'warming up');
    writeFileSync(release, '');
    await rm.waitFor(/pyabs is ready \(READY=1\)/, 20_000);
    await rm.waitFor(/pyabs entered RUNNING/);
  });

  it("Debian's systemd-notify --ready, run by a shell script (not the main pid), is accepted", async () => {
    await rm.waitFor(/shnotify\s+\| shnotify notified/, 20_000);
    // systemd-notify waits on its barrier until ringmaster has read the message: ready comes first.
    assert.ok(rm.stdout.indexOf('shnotify is ready') < rm.stdout.indexOf('shnotify notified'), rm.stdout);
  });

  it('fd:N: a newline on the notification fd (a real pipe) makes it ready', async () => {
    await rm.waitFor(/fdp is ready \(a newline on its notification fd\)/, 20_000);
    await rm.waitFor(/fdp entered RUNNING/);
  });

  it('STATUS= shows in ctl status, the JSON API and XML-RPC', async () => {
    await rm.waitFor(/pyabs entered RUNNING/, 20_000);
    const s = await statusOf(socket, 'pyabs');
    assert.equal(s.state, 'RUNNING');
    assert.equal(s.description, 'serving 42 requests');
    assert.equal((await statusOf(socket, 'shnotify')).description, 'ready from a shell');
    const c = await ctl(socket, 'status', 'pyabs');
    assert.match(c.out, /^pyabs\s+RUNNING\s+pid \d+, uptime [\d:]+.*serving 42 requests$/m);
    const info = value(socket, 'supervisor.getProcessInfo', 'pyabs') as { description: string };
    assert.match(info.description, /^pid \d+, uptime [\d:]+, serving 42 requests$/);
  });

  it('file:PATH: STARTING (and /readyz 503, depends_on waiting) until the file is made anew', async () => {
    await rm.waitFor(/fdp entered RUNNING/, 20_000);
    await rm.waitFor(/shnotify entered RUNNING/, 20_000);
    await rm.waitFor(/pyabs entered RUNNING/, 20_000);
    const gate = await statusOf(socket, 'gate');
    assert.equal(gate.state, 'STARTING', 'the stale file does not count');
    assert.equal(gate.description, `waiting for ${go}`);
    assert.equal((await statusOf(socket, 'dependent')).state, 'STOPPED');
    const before = await httpUnix(socket, 'GET', '/readyz');
    assert.equal(before.status, 503);
    assert.match(before.body, new RegExp(`gate is STARTING \\(waiting for ${go.replace(/[/.]/g, '\\$&')}\\)`));
    assert.match(before.body, /dependent is waiting for gate/);
    assert.doesNotMatch(rm.stdout, /spawned: dependent/);
    assert.match((await ctl(socket, 'status', 'gate')).out, /^gate\s+STARTING\s+pid \d+, waiting for /m);

    // A new file at the path (rename: the way a program publishes one atomically).
    writeFileSync(`${go}.tmp`, 'ready\n');
    renameSync(`${go}.tmp`, go);
    await rm.waitFor(/gate is ready \(its ready file\)[\s\S]*spawned: dependent/, 20_000);
    await rm.waitFor(/gate entered RUNNING/);
    await rm.waitFor(/dependent entered RUNNING/, 20_000);
    const ready = await httpUnix(socket, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.body);
  });
});

describe('ready: notify on path sockets (settings.notify_dir), ready_timeout, watchdog, MAINPID', { skip }, () => {
  const dir = tempDir('rm-ready2-');
  const socket = path.join(dir, 'rm.sock');
  const notifyDir = path.join(dir, 'notify');
  const second = path.join(dir, 'dog.second');
  let rm: Ringmaster;

  before(() => {
    const file = writeConfig(
      `
settings: {socket: ${socket}, notify_dir: ${notifyDir}, shutdown_timeout: 10s}
programs:
  pypath:
    command: ${pyNotify("print('socket', a, flush=True); notify('READY=1'); time.sleep(1000)")}
    ready: notify
  slow:
    command: ["sleep", "1000"]
    ready: notify
    ready_timeout: 1s
    startretries: 1
    backoff: {initial: 100ms}
  dog:
    command: ["sh", "-c", "${SYSTEMD_NOTIFY} --ready; if [ -e ${second} ]; then while :; do ${SYSTEMD_NOTIFY} WATCHDOG=1; sleep 0.2; done; fi; touch ${second}; for i in 1 2 3; do ${SYSTEMD_NOTIFY} WATCHDOG=1; sleep 0.2; done; echo dog stops pinging; exec sleep 1000"]
    ready: notify
    watchdog: 3s   # generous: a systemd-notify may take a second to start on a loaded machine
    backoff: {initial: 100ms}
  rogue:
    # Not systemd-notify for the outsider: as root it sends its parent's pid as the sender.
    command: ["sh", "-c", "setsid -w python3 -c \\"import os, socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\\"; echo rogue tried; ${SYSTEMD_NOTIFY} --ready; exec sleep 1000"]
    ready: notify
  mainpid:
    command: ["sh", "-c", "sleep 1000 & ${SYSTEMD_NOTIFY} --ready --pid=$!; echo mainpid is $!; exit 0"]
    ready: notify
    backoff: {initial: 100ms}
`,
      dir,
    );
    rm = new Ringmaster({ args: ['-c', file], pid1: true });
  });
  after(async () => {
    rm.kill();
    await rm.wait(15_000);
  });

  it('a path socket in notify_dir: NOTIFY_SOCKET is that file, and READY=1 on it works', async () => {
    const m = await rm.waitFor(/pypath\s+\| socket (\S+)/, 20_000);
    assert.ok(m[1].startsWith(`${notifyDir}/`), m[1]);
    await rm.waitFor(/pypath is ready \(READY=1\)/, 20_000);
  });

  it('ready_timeout: killed, a failed start with its reason, backed off, then FATAL', async () => {
    await rm.waitFor(/slow was not ready within ready_timeout 1s: killing it \(a failed start\)/, 20_000);
    await rm.waitFor(/exited: slow \(terminated by SIGKILL; not ready within ready_timeout 1s\)/);
    await rm.waitFor(/slow will restart in [\d.]+s \(BACKOFF\)/);
    await rm.waitFor(/gave up: slow entered FATAL state/, 20_000);
    const s = await statusOf(socket, 'slow');
    assert.equal(s.state, 'FATAL');
    assert.equal(s.description, 'Not ready within ready_timeout 1s');
    assert.match(s.stopped?.text ?? '', /killed by SIGKILL at ready_timeout 1s/);
    assert.match((await ctl(socket, 'status', 'slow')).out, /^slow\s+FATAL\s+Not ready within ready_timeout 1s$/m);
  });

  it('watchdog: pings keep it running; when they stop it is restarted, with the reason', async () => {
    await rm.waitFor(/dog stops pinging/, 20_000);
    await rm.waitFor(/dog sent no WATCHDOG=1 for 3s \(watchdog\): restarting/, 20_000);
    await rm.waitFor(/stopped: dog \(terminated by SIGTERM; by watchdog \(no WATCHDOG=1 in time\)\)/);
    // Restarted, and this run keeps pinging: ready again and not restarted again.
    await rm.waitFor(/dog stops pinging[\s\S]*dog is ready \(READY=1\)[\s\S]*dog entered RUNNING/, 20_000);
    assert.equal((rm.stdout + rm.stderr).match(/dog sent no WATCHDOG=1/g)?.length, 1, "a warning, on stderr");
    assert.match(rm.stderr, /dog sent no WATCHDOG=1 for 3s/);
  });

  it('a sender in another process group (setsid) is ignored, with a line; its own group\'s is not', async () => {
    // A warning: on ringmaster's stderr.
    await rm.waitFor(/rogue: ignored an sd_notify message from pid \d+, which is not a process of its process group/, 20_000, 'stderr');
    await rm.waitFor(/rogue is ready \(READY=1\)/, 20_000);
    assert.ok(rm.stdout.indexOf('rogue tried') < rm.stdout.indexOf('rogue is ready'), rm.stdout);
  });

  it('MAINPID: the pid named is followed after the spawned shell exits; its death is the exit', async () => {
    const m = await rm.waitFor(/mainpid\s+\| mainpid is (\d+)/, 20_000);
    await rm.waitFor(new RegExp(`mainpid: spawned pid \\d+ ended \\(exit status 0\\); following its MAINPID \\d+`), 20_000);
    const s = await statusOf(socket, 'mainpid');
    assert.equal(s.state, 'RUNNING');
    // The pid in our namespace differs from the one inside (PID 1's namespace): find it by its parent.
    const inner = Number(m[1]);
    assert.equal(s.pid, inner);
    const outer = outerPid(await rm.ringmasterPid(), inner);
    assert.ok(outer && alive(outer), 'the MAINPID sleep is a child of ringmaster now (adopted)');
    process.kill(outer, 'SIGKILL');
    await rm.waitFor(/exited: mainpid \(terminated by SIGKILL; not expected\)/, 20_000);
    await rm.waitFor(/mainpid will restart/);
  });

  it('the path sockets are removed when their processes end', async () => {
    assert.ok(readdirSync(notifyDir).length > 0);
    await rm.signal('SIGTERM');
    const exit = await rm.wait(20_000);
    assert.equal(exit.code, 0, rm.stdout + rm.stderr);
    assert.deepEqual(readdirSync(notifyDir), []);
  });
});

/** The pid (in our namespace) of ringmaster's child whose pid in its own namespace is `inner`. */
function outerPid(ringmaster: number, inner: number): number | undefined {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const status = require('node:fs').readFileSync(`/proc/${e}/status`, 'latin1') as string;
      const ns = status.match(/^NSpid:\s*(.*)$/m)?.[1].split(/\s+/).map(Number) ?? [];
      const ppid = Number(status.match(/^PPid:\s*(\d+)/m)?.[1]);
      if (ppid === ringmaster && ns[ns.length - 1] === inner) return Number(e);
    } catch {
      // gone
    }
  }
  return undefined;
}
