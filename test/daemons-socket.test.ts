// SPEC §9 `socket:`: ringmaster makes a program's listening socket before its first start, hands
// it to every process as fd 3 (LISTEN_FDS=1, LISTEN_PID=<its own pid>, LISTEN_FDNAMES) or fd 0,
// keeps it open across restarts and reloads that leave it alone (clients wait in the backlog,
// none is refused), and closes it when the program goes. Real python servers, real clients.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readlinkSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { value } from './support/xmlrpc';
import { BUNDLE, NO_UNSHARE, Ringmaster, canUnshare, tempDir } from './support/ringmaster';

/**
 * A server on the inherited socket: prints what it was given, then answers every connection
 * with its pid. On TERM it finishes the connection in hand and exits (a graceful server).
 */
const SERVER = `
import os, select, signal, socket, sys
fd = int(sys.argv[1]) if len(sys.argv) > 1 else 3
stopping = False
def on_term(*_):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(fileno=fd)
s.setblocking(False)  # processes share it: another may take the connection select saw
print('pid=%d LISTEN_PID=%s LISTEN_FDS=%s LISTEN_FDNAMES=%s tag=%s' % (os.getpid(), os.environ.get('LISTEN_PID'), os.environ.get('LISTEN_FDS'), os.environ.get('LISTEN_FDNAMES'), os.environ.get('TAG')), flush=True)
# A connection is accepted only while not stopping; what waits in the backlog is the next process's.
while not stopping:
    if not select.select([s], [], [], 0.1)[0]:
        continue
    try:
        c, _ = s.accept()
    except BlockingIOError:
        continue
    c.setblocking(True)
    c.sendall(b'%d\\n' % os.getpid())
    c.close()
os._exit(0)
`;

/** How long a wait for a program's line may take: the machine is shared and python starts slowly. */
const BOUND = 30_000;

function setup(): { dir: string; server: string; socket: string } {
  const dir = tempDir('rm-sock-');
  const server = path.join(dir, 'server.py');
  writeFileSync(server, SERVER);
  return { dir, server, socket: path.join(dir, 'rm.sock') };
}

/** A TCP port nobody listens on now (bound and released; tests run side by side). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

type Target = { port: number } | { path: string };

/** One request: connect, read the pid line the server answers with. Rejects on refusal or a cut. */
function ask(target: Target, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = 'port' in target ? net.connect(target.port, '127.0.0.1') : net.connect(target.path);
    let data = '';
    const t = setTimeout(() => c.destroy(new Error('no answer in time')), timeoutMs);
    c.setEncoding('utf8');
    c.on('data', (d: string) => (data += d));
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(t);
      if (/^\d+\n$/.test(data)) resolve(Number(data));
      else reject(new Error(`cut off (got ${JSON.stringify(data)})`));
    });
  });
}

/** Requests one after another until `stop()`: counts answers and failures, and which pids answered. */
function clientLoop(target: Target) {
  let running = true;
  const result = { ok: 0, failed: [] as string[], pids: new Set<number>() };
  const done = (async () => {
    while (running) {
      try {
        result.pids.add(await ask(target));
        result.ok++;
      } catch (err) {
        result.failed.push((err as Error).message);
      }
    }
  })();
  return {
    result,
    stop: async () => {
      running = false;
      await done;
      return result;
    },
  };
}

/** The socket inode a pid holds on fd N (`socket:[123]`). */
const fdTarget = (pid: number, fd: number) => readlinkSync(`/proc/${pid}/fd/${fd}`);

/** name -> pid of the RUNNING processes. */
async function runningPids(socket: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await ctl(socket, 'status')).out.split('\n')) {
    const m = /^(\S+)\s+RUNNING\s+pid (\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

describe('socket: (SPEC §9)', () => {
  it('gives every process of a numprocs program the same TCP socket on fd 3 with LISTEN_FDS, its own LISTEN_PID and LISTEN_FDNAMES', async () => {
    const { dir, server, socket } = setup();
    const port = await freePort();
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, `settings: {socket: ${socket}}
programs:
  web:
    command: python3 ${server}
    socket: tcp://127.0.0.1:${port}
    numprocs: 2
    startsecs: 0
`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/web_00 +\| pid=\d+[\s\S]*web_01 +\| pid=\d+|web_01 +\| pid=\d+[\s\S]*web_00 +\| pid=\d+/, BOUND);
      const lines = [...rm.stdout.matchAll(/pid=(\d+) LISTEN_PID=(\S+) LISTEN_FDS=(\S+) LISTEN_FDNAMES=(\S+)/g)];
      assert.equal(lines.length, 2);
      for (const [, pid, listenPid, fds, names] of lines) {
        assert.equal(listenPid, pid, 'LISTEN_PID is the process\'s own pid');
        assert.equal(fds, '1');
        assert.equal(names, 'web');
      }
      const [a, b] = lines.map((l) => Number(l[1]));
      assert.match(fdTarget(a, 3), /^socket:\[\d+\]$/);
      assert.equal(fdTarget(a, 3), fdTarget(b, 3), 'both processes hold the one socket');
      assert.equal(fdTarget(a, 0).startsWith('socket:'), false, 'stdin stays a pipe with socket_fd 3');
      const answers = await Promise.all(Array.from({ length: 6 }, () => ask({ port })));
      for (const pid of answers) assert.ok(pid === a || pid === b);
    } finally {
      rm.kill();
      await rm.wait();
    }
  });

  it('makes a unix socket with socket_mode and socket_owner (default mode 0700), removed with the program (reload, or reread + removeProcessGroup)', async () => {
    const { dir, server, socket } = setup();
    const owned = path.join(dir, 'owned.sock');
    const plain = path.join(dir, 'plain.sock');
    const file = path.join(dir, 'ringmaster.yaml');
    const programs = `  owned: {command: python3 ${server}, socket: "unix://${owned}", socket_mode: "0660", socket_owner: "nobody:nogroup", startsecs: 0}\n`;
    writeFileSync(file, `settings: {socket: ${socket}}\nprograms:\n${programs}  plain: {command: python3 ${server}, socket: "unix://${plain}", startsecs: 0}\n`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/owned +\| pid=[\s\S]*plain +\| pid=|plain +\| pid=[\s\S]*owned +\| pid=/, BOUND);
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      const o = statSync(owned);
      assert.ok(o.isSocket());
      assert.equal(o.mode & 0o7777, 0o660);
      assert.equal(o.uid, nobody);
      assert.equal(statSync(plain).mode & 0o7777, 0o700);
      const pids = await runningPids(socket);
      assert.equal(await ask({ path: owned }), pids.owned);
      assert.equal(await ask({ path: plain }), pids.plain);

      // A reload that removes the program closes its socket and removes the file.
      writeFileSync(file, `settings: {socket: ${socket}}\nprograms:\n${programs}`);
      const r = await ctl(socket, 'reload');
      assert.equal(r.code, 0, r.out);
      await rm.waitFor(/plain: closed socket unix:\/\//, BOUND);
      assert.throws(() => statSync(plain), /ENOENT/);
      await assert.rejects(ask({ path: plain }), /ENOENT|ECONNREFUSED/);

      // Supervisor's way (supervisorctl update): reread, stop the group, remove it: closed too.
      writeFileSync(file, `settings: {socket: ${socket}}\nprograms: {}\n`);
      value(socket, 'supervisor.reloadConfig');
      value(socket, 'supervisor.stopProcessGroup', 'owned');
      assert.equal(statSync(owned).isSocket(), true, 'kept while the stopped group is still there');
      value(socket, 'supervisor.removeProcessGroup', 'owned');
      await rm.waitFor(/owned: closed socket unix:\/\//, BOUND);
      assert.throws(() => statSync(owned), /ENOENT/);
    } finally {
      rm.kill();
      await rm.wait();
    }
  });

  it('loses no connection while the program is restarted under a steady client loop, and a reload that keeps the socket keeps it open', async () => {
    const { dir, server, socket } = setup();
    const port = await freePort();
    const file = path.join(dir, 'ringmaster.yaml');
    const conf = (tag: string, extra = '') => `settings: {socket: ${socket}}
programs:
  web: {command: python3 ${server}, socket: "tcp://127.0.0.1:${port}", startsecs: 0, environment: {TAG: "${tag}"}${extra}}
`;
    writeFileSync(file, conf('one'));
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/web +\| pid=\d+ .*tag=one/, BOUND);
      const first = (await runningPids(socket)).web;
      const inode = fdTarget(first, 3);
      const loop = clientLoop({ port });
      for (let i = 0; i < 3; i++) {
        const r = await ctl(socket, 'restart', 'web');
        assert.equal(r.code, 0, r.out);
      }
      // A reload that changes the program but not its socket: the program restarts, the socket stays.
      writeFileSync(file, conf('two'));
      const r = await ctl(socket, 'reload');
      assert.equal(r.code, 0, r.out);
      await rm.waitFor(/web +\| pid=\d+ .*tag=two/, BOUND);
      const last = (await runningPids(socket)).web;
      // The new process has answered at least once: nothing waits unanswered.
      const until = Date.now() + 15_000;
      while (!loop.result.pids.has(last) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      const result = await loop.stop();
      assert.deepEqual(result.failed, [], `${result.ok} answered`);
      assert.ok(result.pids.size >= 2, `answers came from the old and new processes (${[...result.pids].join(', ')})`);
      assert.ok(result.pids.has(last));
      assert.notEqual(last, first);
      assert.equal(fdTarget(last, 3), inode, 'the same socket (inode) across restarts and the reload');
      assert.doesNotMatch(rm.stdout, /closed socket/);
    } finally {
      rm.kill();
      await rm.wait();
    }
  });

  it('a socket that cannot be made (port taken) is reported on stderr and the program goes FATAL without starting', async () => {
    const { dir, server, socket } = setup();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, `settings: {socket: ${socket}}
programs:
  web: {command: python3 ${server}, socket: "tcp://127.0.0.1:${port}", startsecs: 0}
  other: {command: sleep 1000, startsecs: 0}
`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/gave up: web entered FATAL/, BOUND);
      await rm.waitFor(new RegExp(`web: couldn't create socket tcp://127.0.0.1:${port}: bind: EADDRINUSE`), 10_000, 'stderr');
      assert.doesNotMatch(rm.stdout, /spawned: web/);
      const status = await ctl(socket, 'status', 'web');
      assert.match(status.out, /^web\s+FATAL\s+couldn't create socket .*EADDRINUSE/m);
      await rm.waitFor(/other entered RUNNING/, BOUND);
    } finally {
      rm.kill();
      await rm.wait();
      taken.close();
    }
  });

  it('refuses bad socket and pidfile keys with FILE:LINE:COL and exit 2', () => {
    const { dir } = setup();
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, `programs:
  a: {command: sleep 1, socket: "http://x:80"}
  b: {command: sleep 1, socket: "tcp://127.0.0.1:80", socket_mode: "0600", socket_fd: 1}
  c: {command: sleep 1, socket: "unix://relative.sock", socket_owner: nosuchuser}
  d: {command: sleep 1, socket_backlog: 5}
  e: {command: sleep 1, sockett: "tcp://127.0.0.1:80"}
  f: {command: sleep 1, pidfile: f.pid, numprocs: 2}
  g: {command: sleep 1, pidfile: g.pid, socket: "tcp://127.0.0.1:80"}
  h: {command: sleep 1, ready: "fd:3", socket: "tcp://127.0.0.1:80"}
eventlisteners:
  l: {command: cat, events: [TICK_5], socket: "tcp://127.0.0.1:80"}
`);
    const r = spawnSync(process.execPath, [BUNDLE, 'check', '-c', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    const f = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(r.stderr, new RegExp(`${f}:2:\\d+: programs\\.a\\.socket: expected tcp://HOST:PORT or unix:///PATH, got "http://x:80"`));
    assert.match(r.stderr, new RegExp(`${f}:3:\\d+: programs\\.b\\.socket_mode: applies to a unix:// socket only`));
    assert.match(r.stderr, new RegExp(`${f}:3:\\d+: programs\\.b\\.socket_fd: expected 0 or 3, got 1`));
    assert.match(r.stderr, new RegExp(`${f}:4:\\d+: programs\\.c\\.socket: expected an absolute path after unix://`));
    assert.match(r.stderr, new RegExp(`${f}:4:\\d+: programs\\.c\\.socket_owner: no such user "nosuchuser"`));
    assert.match(r.stderr, new RegExp(`${f}:5:\\d+: programs\\.d\\.socket_backlog: needs a "socket:" on the same program`));
    assert.match(r.stderr, new RegExp(`${f}:6:\\d+: programs\\.e\\.sockett: unknown key "sockett", did you mean "socket"\\?`));
    assert.match(r.stderr, new RegExp(`${f}:7:\\d+: programs\\.f\\.pidfile: cannot be used with numprocs above 1`));
    assert.match(r.stderr, new RegExp(`${f}:8:\\d+: programs\\.g\\.pidfile: cannot be used with a socket on fd 3`));
    assert.match(r.stderr, new RegExp(`${f}:9:\\d+: programs\\.h\\.ready: fd:3 is the fd the program's socket is given on`));
    assert.match(r.stderr, new RegExp(`${f}:11:\\d+: eventlisteners\\.l\\.socket: unknown key "socket"`));
  });

  it('runs a supervisord.conf [fcgi-program:x]: numprocs processes share the socket on fd 0', async () => {
    const { dir, server } = setup();
    const port = await freePort();
    const conf = path.join(dir, 'supervisord.conf');
    writeFileSync(conf, `[supervisord]
nodaemon=true

[unix_http_server]
file=%(here)s/rm.sock

[fcgi-program:fc]
command=python3 ${server} 0
socket=tcp://127.0.0.1:${port}
socket_backlog=64
numprocs=2
process_name=%(program_name)s_%(process_num)d
startsecs=0
`);
    const converted = spawnSync(process.execPath, [BUNDLE, 'convert', conf], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(converted.status, 0, converted.stderr);
    assert.match(converted.stdout, new RegExp(`\\n    socket: tcp://127.0.0.1:${port}\\n`));
    assert.match(converted.stdout, /\n    socket_backlog: 64\n/);
    assert.match(converted.stdout, /\n    # \[fcgi-program:x\]: the socket is each process's stdin \(fd 0\), as in Supervisor\n    socket_fd: 0\n/);
    const rm = new Ringmaster({ args: ['-c', conf] });
    try {
      await rm.waitFor(/fc_0 +\| pid=[\s\S]*fc_1 +\| pid=|fc_1 +\| pid=[\s\S]*fc_0 +\| pid=/, BOUND);
      const pids = [...rm.stdout.matchAll(/pid=(\d+) LISTEN_PID=None/g)].map((m) => Number(m[1]));
      assert.equal(pids.length, 2, 'no LISTEN_* variables for an fcgi program');
      assert.match(fdTarget(pids[0], 0), /^socket:/);
      assert.equal(fdTarget(pids[0], 0), fdTarget(pids[1], 0));
      assert.ok(pids.includes(await ask({ port })));
    } finally {
      rm.kill();
      await rm.wait();
    }
  });

  it('as PID 1: LISTEN_PID is the pid the program sees for itself', { skip: canUnshare() ? undefined : NO_UNSHARE }, async () => {
    const { dir, server } = setup();
    const port = await freePort();
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, `settings: {socket: ${path.join(dir, 'rm.sock')}}\nprograms:\n  web: {command: python3 ${server}, socket: "tcp://127.0.0.1:${port}", startsecs: 0}\n`);
    const rm = new Ringmaster({ pid1: true, args: ['-c', file] });
    try {
      const m = await rm.waitFor(/web +\| pid=(\d+) LISTEN_PID=(\d+)/, BOUND);
      assert.equal(m[2], m[1]);
      assert.equal(await ask({ port }), Number(m[1]));
    } finally {
      rm.kill();
      await rm.wait();
    }
  });
});
