// Issue #12 (hardening), the control socket and the TCP listener: who can connect, what is
// deleted, what ctl and healthcheck trust, and how many connections a stranger can hold. Real
// processes: the built bundle as root, a second uid (65534) through setpriv, real sockets.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort, httpUnix } from './support/http';
import { BUNDLE, Ringmaster, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const NOT_ROOT = 'needs root, to act as a second user (uid 65534)';

/** A node script run as uid 65534; its stdout is collected. */
function asNobody(script: string, env: NodeJS.ProcessEnv = {}): ChildProcess & { out: () => string } {
  const child = spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, '-e', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return Object.assign(child, { out: () => out });
}

function ctlRun(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A world-traversable temp dir (mkdtemp's is 0700, which would keep uid 65534 out anyway). */
function openDir(): string {
  const d = tempDir('rm-sock-');
  chmodSync(d, 0o1777);
  return d;
}

describe('#6 the socket is never connectable by another user, not even for a moment', () => {
  it('under umask 000, uid 65534 polling connect() from before the start never gets in', { skip: !isRoot && NOT_ROOT }, async () => {
    for (let round = 0; round < 3; round++) {
      const d = openDir();
      const sock = path.join(d, 'rm.sock');
      // Polls as fast as it can from before ringmaster starts until told to stop.
      const poller = asNobody(`
        const net = require('net');
        let stop = false, tries = 0;
        setTimeout(() => { stop = true; console.log('tries ' + tries); }, 8000);
        const once = () => { if (stop) return; tries++; const s = net.connect(${JSON.stringify(sock)});
          s.on('connect', () => { console.log('CONNECTED'); process.exit(0); });
          s.on('error', () => setImmediate(once)); };
        once();`);
      const pollerDone = new Promise((resolve) => poller.once('close', resolve));
      const file = writeConfig(`settings: {socket: ${sock}}\nprograms: {a: {command: "sleep 30"}}\n`, d);
      const rm = new Ringmaster({ command: ['sh', '-c', `umask 000; exec "${process.execPath}" "${BUNDLE}" "$@"`, 'sh'], args: ['-c', file] });
      try {
        // Either it got in (and exited at once) or it gave up after its 8 s.
        await Promise.race([pollerDone, rm.waitFor(/a entered RUNNING/, 20_000)]);
        await Promise.race([pollerDone, sleep(15_000)]);
        assert.doesNotMatch(poller.out(), /CONNECTED/, `round ${round}: uid ${NOBODY} connected to the control socket`);
        assert.equal(lstatSync(sock).mode & 0o777, 0o700);
      } finally {
        poller.kill('SIGKILL');
        await rm.signal('SIGTERM').catch(() => {});
        await rm.wait(20_000);
      }
    }
  });
});

describe('#7 a socket path longer than sun_path is refused, never truncated', () => {
  it('check refuses a 108+ byte settings.socket at its line, and run does not serve on a truncated path', () => {
    const d = tempDir();
    const long = path.join(d, `${'s'.repeat(120)}.sock`);
    const file = writeConfig(`settings:\n  socket: ${long}\nprograms: {a: {command: "true"}}\n`, d);
    const r = ctlRun(['check', '-c', file], {});
    assert.equal(r.status, 2, r.out);
    assert.match(r.out, new RegExp(`${file}:2:11: settings.socket: is \\d+ bytes long; a unix socket path has at most 107`));
    const env = ctlRun(['check', '-c', writeConfig('programs: {a: {command: "true"}}\n', d)], { RINGMASTER_SOCKET: long });
    assert.equal(env.status, 2, env.out);
    assert.match(env.out, /env:RINGMASTER_SOCKET:1:1: settings.socket: is \d+ bytes long/);
  });
});

describe('#8 an existing file at the socket path is left alone', () => {
  it('a regular file there is not deleted; ringmaster says so and uses its private fallback, which it logs', async () => {
    const d = tempDir();
    const tmp = tempDir('rm-tmpdir-');
    const sock = path.join(d, 'precious.sock');
    writeFileSync(sock, 'do not delete me\n');
    const file = writeConfig(`settings: {socket: ${sock}}\nprograms: {a: {command: "sleep 30"}}\n`, d);
    const rm = new Ringmaster({ args: ['-c', file], env: { TMPDIR: tmp } });
    try {
      await rm.waitFor(/a entered RUNNING/, 20_000);
      await rm.waitFor(/control socket at (\S+)/, 20_000);
      assert.match(rm.stderr + rm.stdout, /precious.sock exists and is not a socket; leaving it alone/);
      assert.equal(readFileSync(sock, 'utf8'), 'do not delete me\n');
      const fallback = path.join(tmp, `ringmaster-${process.geteuid!()}`, 'precious.sock');
      assert.match(rm.stdout + rm.stderr, new RegExp(`control socket at ${fallback}`));
      assert.equal(lstatSync(path.dirname(fallback)).mode & 0o777, 0o700);
      assert.equal((await httpUnix(fallback, 'GET', '/healthz')).status, 200);
      // ctl finds the fallback by itself.
      const st = ctlRun(['-c', file, 'ctl', 'status'], { TMPDIR: tmp });
      assert.match(st.out, /^a\s+RUNNING/m);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
    }
    assert.equal(readFileSync(sock, 'utf8'), 'do not delete me\n', 'still there after the shutdown');
  });
});

describe('#9 the fallback socket cannot be squatted, and ctl/healthcheck trust only their own or root\'s', () => {
  it('a squatter\'s socket in the temp dir and in a fallback dir it made first gets neither healthcheck nor ctl stop all', { skip: !isRoot && NOT_ROOT }, async () => {
    const tmp = openDir();
    const log = path.join(tmp, 'squatter.log');
    const ours = path.join(tmp, `ringmaster-${process.geteuid!()}`);
    // The squatter answers every request with 200 and writes down what it got.
    const squatter = asNobody(`
      const http = require('http'), fs = require('fs');
      fs.mkdirSync(${JSON.stringify(ours)}, { mode: 0o755 });
      let n = 0;
      for (const p of [${JSON.stringify(path.join(tmp, 'app.sock'))}, ${JSON.stringify(path.join(ours, 'app.sock'))}]) {
        http.createServer((q, r) => { fs.appendFileSync(${JSON.stringify(log)}, q.method + ' ' + q.url + '\\n'); r.writeHead(200, {'content-type': 'application/json'}); r.end('{"results":[],"processes":[]}'); })
          .listen(p, () => { require('fs').chmodSync(p, 0o777); if (++n === 2) console.log('listening'); });
      }`);
    try {
      await eventually(() => squatter.out().includes('listening'), 10_000, 'the squatter to listen');
      const d = tempDir();
      // /proc is never writable: the configured socket fails, the fallback is tried.
      const file = writeConfig('settings: {socket: /proc/rm-test/app.sock}\nprograms: {bad: {command: "false", startretries: 0, autorestart: false}}\n', d);
      const rm = new Ringmaster({ args: ['-c', file], env: { TMPDIR: tmp } });
      try {
        await rm.waitFor(/bad entered FATAL/, 20_000);
        await rm.waitFor(/no control socket/, 20_000);
        assert.match(rm.stdout + rm.stderr, new RegExp(`${ours} is owned by uid ${NOBODY}, not by us`));
        const hc = ctlRun(['healthcheck', '-c', file], { TMPDIR: tmp });
        assert.equal(hc.status, 1, hc.out);
        assert.match(hc.out, /owned by uid 65534, neither you .* nor root: not trusted/);
        const stop = ctlRun(['-c', file, 'ctl', 'stop', 'all'], { TMPDIR: tmp });
        assert.equal(stop.status, 4, stop.out);
        assert.ok(!existsSync(log), `the squatter was asked: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
      } finally {
        await rm.signal('SIGTERM').catch(() => {});
        await rm.wait(20_000);
      }
    } finally {
      squatter.kill('SIGKILL');
    }
  });
});

/** Open `n` connections that never send a byte; resolves with them once all are connected or refused. */
async function idleConnections(n: number, to: () => Socket): Promise<Socket[]> {
  const sockets: Socket[] = [];
  await Promise.all(Array.from({ length: n }, () => new Promise<void>((resolve) => {
    const s = to();
    s.on('error', () => resolve());
    s.on('connect', () => resolve());
    s.on('close', () => resolve());
    sockets.push(s);
  })));
  return sockets;
}

describe('#5 connection caps and timeouts keep fds for the programs', () => {
  it('under a 256-fd limit, 300 idle TCP and 100 idle socket connections do not make a restarting program fail with EMFILE', async () => {
    const d = tempDir();
    const port = await freePort();
    const sock = path.join(d, 'rm.sock');
    const file = writeConfig([
      `settings: {socket: ${sock}, http: "127.0.0.1:${port}"}`,
      'programs:',
      '  flap: {command: ["sh", "-c", "echo up; sleep 0.2; exit 3"], startsecs: 0, autorestart: true, startretries: 0, backoff: {initial: 100ms, max: 100ms}}',
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ command: ['prlimit', '--nofile=256:256', process.execPath, BUNDLE], args: ['-c', file] });
    const held: Socket[] = [];
    try {
      await rm.waitFor(/listening on http/, 20_000);
      held.push(...(await idleConnections(300, () => connect(port, '127.0.0.1'))));
      held.push(...(await idleConnections(100, () => connect(sock))));
      await sleep(200);
      const open = held.filter((s) => !s.destroyed && s.readyState === 'open').length;
      assert.ok(open <= 2 * 32 + 10, `${open} idle connections still open (cap 32 per server under 256 fds)`);
      const before = (rm.stdout.match(/flap\s+\| up/g) ?? []).length;
      await eventually(() => (rm.stdout.match(/flap\s+\| up/g) ?? []).length >= before + 5, 30_000, 'five more restarts of flap');
      assert.doesNotMatch(rm.stdout + rm.stderr, /EMFILE|flap entered FATAL/);
      assert.match(rm.stderr + rm.stdout, /too many connections \(limit 32\)/);
      // The probes still answer for a newcomer once the idle ones are gone.
      for (const s of held) s.destroy();
      await eventually(() => true, 10);
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(r.status, 200);
    } finally {
      for (const s of held) s.destroy();
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
    }
  });

  it('a TCP connection that sends nothing, or only half its headers, is closed after 10 s', async () => {
    const d = tempDir();
    const port = await freePort();
    const file = writeConfig(`settings: {socket: ${path.join(d, 'rm.sock')}, http: "127.0.0.1:${port}"}\nprograms: {a: {command: "sleep 60"}}\n`, d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/listening on http/, 20_000);
      const silent = connect(port, '127.0.0.1');
      const half = connect(port, '127.0.0.1', () => half.write('GET /v1/status HTTP/1.1\r\nHost: x\r\n'));
      const closedWithin = (s: Socket) => new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 45_000); // 10 s, plus room for a loaded machine
        s.on('close', () => {
          clearTimeout(t);
          resolve(true);
        });
        s.on('error', () => {});
      });
      const [a, b] = await Promise.all([closedWithin(silent), closedWithin(half)]);
      const said = `\n--- ringmaster's output:\n${rm.stdout}${rm.stderr}`;
      assert.equal(a, true, `a silent connection stays open${said}`);
      assert.equal(b, true, `a half-sent request stays open${said}`);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
    }
  });
});




describe('#5 a spawn that fails for want of fds is not the program\'s failure', () => {
  it('under a 100-fd limit, 40 processes: those that hit EMFILE wait in BACKOFF and are retried, none goes FATAL', async () => {
    const d = tempDir();
    const file = writeConfig([
      `settings: {socket: ${path.join(d, 'rm.sock')}}`,
      'programs:',
      '  p: {command: "sleep 1000", numprocs: 40, startsecs: 0, startretries: 1, backoff: {initial: 100ms, max: 200ms}}',
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ command: ['prlimit', '--nofile=100:100', process.execPath, BUNDLE], args: ['-c', file] });
    try {
      await rm.waitFor(/spawnerr: p_\d+: .*EMFILE/, 20_000);
      // Several retries of each (100-200 ms apart): with startretries 1 they would have gone FATAL.
      await eventually(() => (rm.stderr.match(/spawnerr: p_\d+: .*EMFILE/g) ?? []).length >= 40, 30_000, '40 EMFILE spawn errors');
      assert.doesNotMatch(rm.stdout + rm.stderr, /entered FATAL|gave up/);
      assert.match(rm.stdout + rm.stderr, /not counted against startretries/);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(30_000);
    }
  });
});
