// SPEC §2 depends_on and healthcheck, §4 shutdown order, §6 /readyz and /metrics, end to end on
// the built dist/ringmaster.cjs with real programs, real check commands and real sockets.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpUnix, freePort } from './support/http';
import { parsePrometheus } from './support/prometheus';
import { Ringmaster, alive, childrenOf, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';

const NODE = JSON.stringify(process.execPath);


interface Status {
  name: string;
  state: string;
  pid: number;
  restarts: number;
  health: { status: string; output: string; failures: number } | null;
  waiting: string;
}

async function status(socket: string): Promise<Status[]> {
  const r = await httpUnix(socket, 'GET', '/v1/status');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).processes;
}

async function statusOf(socket: string, name: string): Promise<Status> {
  const s = (await status(socket)).find((p) => p.name === name);
  assert.ok(s, `no process ${name}`);
  return s;
}

/** Poll an async condition, bounded (the API has no push channel for these states). */
async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function readMs(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

function zombieChildren(pid: number): number[] {
  return childrenOf(pid).filter((c) => {
    try {
      const stat = readFileSync(`/proc/${c}/stat`, 'latin1');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
    } catch {
      return false;
    }
  });
}

/** Pids of live processes whose command line contains `needle` (a marker unique to one test). */
function pidsWithArg(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0').includes(needle) && alive(Number(e))) out.push(Number(e));
    } catch {
      // exited
    }
  }
  return out;
}

describe('§2 depends_on {condition: healthy} with each kind of healthcheck', () => {
  const dir = tempDir('rm-health-');
  const socket = path.join(dir, 'rm.sock');
  let rm: Ringmaster;
  let ports: { http: number; tcp: number };
  // Each A becomes passable 2 s after it starts and writes the time it did; each B writes when it started.
  const bStarts = (k: string) => `["sh", "-c", "date +%s%3N > b_${k}.started; exec sleep 1000"]`;
  before(async () => {
    ports = { http: await freePort(), tcp: await freePort() };
    const httpServer = `const fs = require('fs'); setTimeout(() => require('http').createServer((q, r) => r.end('ok')).listen(${ports.http}, '127.0.0.1', () => fs.writeFileSync('a_http.passable', String(Date.now()))), 2000)`;
    const tcpServer = `const fs = require('fs'); setTimeout(() => require('net').createServer((c) => c.end()).listen(${ports.tcp}, '127.0.0.1', () => fs.writeFileSync('a_tcp.passable', String(Date.now()))), 2000)`;
    rm = new Ringmaster({
      args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  a_exec:
    command: ["sh", "-c", "sleep 2; date +%s%3N > a_exec.tmp; mv a_exec.tmp a_exec.passable; exec sleep 1000"]
    directory: ${dir}
    environment: {MARKER: a_exec.passable}
    healthcheck: {exec: ["sh", "-c", "test -f \\"$MARKER\\""], interval: 200ms, start_period: 20s}
  b_exec: {command: ${bStarts('exec')}, directory: ${dir}, depends_on: {a_exec: {condition: healthy}}}
  a_http:
    command: [${NODE}, "-e", ${JSON.stringify(httpServer)}]
    directory: ${dir}
    healthcheck: {http: "http://127.0.0.1:${ports.http}/health", interval: 200ms, start_period: 20s}
  b_http: {command: ${bStarts('http')}, directory: ${dir}, depends_on: {a_http: healthy}}
  a_tcp:
    command: [${NODE}, "-e", ${JSON.stringify(tcpServer)}]
    directory: ${dir}
    healthcheck: {tcp: "127.0.0.1:${ports.tcp}", interval: 200ms, start_period: 20s}
  b_tcp: {command: ${bStarts('tcp')}, directory: ${dir}, depends_on: {a_tcp: healthy}}
  a_log:
    command: ["sh", "-c", "echo starting up; sleep 2; date +%s%3N > a_log.passable; echo 'LOG:  database system is ready to accept connections'; exec sleep 1000"]
    directory: ${dir}
    healthcheck: {log: "ready to accept connections$", interval: 200ms, start_period: 20s}
  b_log: {command: ${bStarts('log')}, directory: ${dir}, depends_on: {a_log: healthy}}
  slowcheck:
    command: sleep 1000
    healthcheck: {exec: ["sh", "-c", "sleep 777.123 & sleep 777.123"], interval: 500ms, timeout: 300ms}
`, dir)],
    });
    await rm.waitFor(/b_exec entered RUNNING[\s\S]*b_http entered RUNNING|b_http entered RUNNING[\s\S]*b_exec entered RUNNING/, 20_000);
    await rm.waitFor(/b_tcp entered RUNNING/, 10_000);
    await rm.waitFor(/b_log entered RUNNING/, 10_000);
  });
  after(async () => {
    rm.kill();
    await rm.exited;
    for (const pid of pidsWithArg('777.123')) process.kill(pid, 'SIGKILL');
  });

  for (const kind of ['exec', 'http', 'tcp', 'log']) {
    it(`${kind}: B waits while A fails its check and starts right after A's first pass`, () => {
      const passable = readMs(path.join(dir, `a_${kind}.passable`));
      const started = readMs(path.join(dir, `b_${kind}.started`));
      assert.ok(started >= passable, `b_${kind} started ${passable - started} ms before a_${kind} could pass`);
      // interval 200ms: the next check passes; the rest is spawning on a busy 2-core machine.
      assert.ok(started - passable < 2000, `b_${kind} started ${started - passable} ms after a_${kind} could pass`);
      const healthy = rm.stdout.indexOf(`ringmaster | a_${kind} is healthy`);
      const waited = rm.stdout.indexOf(`b_${kind} waits for a_${kind} (healthy)`);
      assert.ok(waited !== -1 && healthy > waited && rm.stdout.indexOf(`spawned: b_${kind}`) > healthy, rm.stdout);
    });
  }

  it('health shows in GET /v1/status and ctl status', async () => {
    const a = await statusOf(socket, 'a_exec');
    assert.equal(a.health?.status, 'healthy');
    assert.equal((await statusOf(socket, 'b_exec')).health, null);
    const ctl = new Ringmaster({ args: ['ctl', '-s', socket, 'status', 'a_log', 'b_log'] });
    const exit = await ctl.wait();
    assert.equal(exit.code, 0, ctl.stdout);
    assert.match(ctl.stdout, /^a_log +RUNNING +pid \d+, uptime [\d:]+ +cpu [\d.]+% +mem [\d.]+MB +healthy$/m);
    assert.match(ctl.stdout, /^b_log +RUNNING +pid \d+, uptime [\d:]+ +cpu [\d.]+% +mem [\d.]+MB$/m);
  });

  it('an exec check runs in its own process group, killed whole at its timeout; checks leave no zombies', async () => {
    await until(async () => (await statusOf(socket, 'slowcheck')).health?.output.startsWith('timed out after 0.3s') ?? false, 10_000, 'a timed-out check');
    const seen = pidsWithArg('777.123');
    await sleep(600);
    for (const pid of seen) assert.ok(!alive(pid), `check process ${pid} outlived its timeout`);
    const ringmaster = await rm.ringmasterPid();
    const zombies = zombieChildren(ringmaster);
    await sleep(300);
    const stillZombies = zombieChildren(ringmaster).filter((z) => zombies.includes(z));
    assert.deepEqual(stillZombies, [], 'a zombie stayed 300 ms');
    assert.equal((await statusOf(socket, 'slowcheck')).state, 'RUNNING', 'a failing readiness check does not restart');
  });
});

describe('§2 exec healthchecks run as the program', () => {
  it('with its user, directory and environment', { skip: process.getuid?.() !== 0 ? 'needs root to switch users' : undefined }, async () => {
    const dir = tempDir('rm-check-user-');
    // The check passes only as uid 65534 in /tmp with the program's own variable.
    const check = 'test "$(id -u)" = 65534 && test "$(pwd)" = /tmp && test "$CHECK_VAR" = from-program';
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  app:
    command: sleep 1000
    user: nobody
    directory: /tmp
    environment: {CHECK_VAR: from-program}
    startsecs: 0
    healthcheck: {exec: ["sh", "-c", ${JSON.stringify(check)}], interval: 100ms, retries: 1}
`, dir)] });
    try {
      await rm.waitFor(/app is (healthy|unhealthy)/);
      assert.match(rm.stdout, /app is healthy/);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});

describe('§2 depends_on {condition: completed}: a migration gates the app', () => {
  it('a migration that exits 0 lets the app start; /readyz counts the finished migration as ready', async () => {
    const dir = tempDir('rm-migrate-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  migrate: {command: "sh -c 'sleep 0.5; echo migrated'", startsecs: 0, autorestart: false}
  web: {command: sleep 1000, startsecs: 0, depends_on: {migrate: completed}}
`, dir)] });
    try {
      await rm.waitFor(/web entered RUNNING/);
      assert.ok(rm.stdout.indexOf('migrate | migrated') < rm.stdout.indexOf('spawned: web'), rm.stdout);
      const ready = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(ready.status, 200, ready.body);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });

  it('a migration that exits 4 keeps the app from starting; status and /readyz say why', async () => {
    const dir = tempDir('rm-migrate-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  migrate: {command: "sh -c 'exit 4'", startsecs: 0, autorestart: false}
  web: {command: sleep 1000, startsecs: 0, depends_on: {migrate: completed}}
`, dir)] });
    try {
      await rm.waitFor(/web cannot start: migrate exited with code 4/);
      await sleep(300);
      assert.doesNotMatch(rm.stdout, /spawned: web/);
      const web = await statusOf(socket, 'web');
      assert.equal(web.state, 'STOPPED');
      assert.equal(web.waiting, 'blocked by migrate (completed): migrate exited with code 4');
      const ctl = new Ringmaster({ args: ['ctl', '-s', socket, 'status', 'web'] });
      assert.equal((await ctl.wait()).code, 3);
      assert.match(ctl.stdout, /^web +STOPPED +Blocked by migrate \(completed\): migrate exited with code 4$/m);
      const ready = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.ok(JSON.parse(ready.body).reasons.includes('web is blocked by migrate (completed): migrate exited with code 4'), ready.body);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });

  it('the exit policy applies: a critical app blocked by a failed migration ends the container with its code', async () => {
    const dir = tempDir('rm-migrate-');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  migrate: {command: "sh -c 'exit 4'", startsecs: 0, autorestart: false}
  web: {command: sleep 1000, critical: true, depends_on: {migrate: completed}}
`, dir)] });
    const exit = await rm.wait();
    assert.equal(exit.code, 4, rm.stdout);
    assert.match(rm.stdout, /web cannot start \(migrate exited with code 4\) \(exit_policy: critical\): shutting down with exit code 4/);
    assert.doesNotMatch(rm.stdout, /spawned: web/);
  });

  it('a dependency that fails at first and recovers still releases its dependent (no stuck waiter)', async () => {
    const dir = tempDir('rm-recover-');
    // `db` is unhealthy (3 failures) before it turns healthy: the dependent must still start.
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  db:
    command: ["sh", "-c", "sleep 1.5; touch up; exec sleep 1000"]
    directory: ${dir}
    healthcheck: {exec: "test -f up", interval: 100ms, retries: 2}
  app: {command: sleep 1000, startsecs: 0, depends_on: {db: healthy}}
`, dir)] });
    try {
      await rm.waitFor(/db is unhealthy/);
      await rm.waitFor(/db is healthy/);
      await rm.waitFor(/app entered RUNNING/);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});

describe('§2 healthcheck liveness', () => {
  it('a liveness check that starts failing restarts the program; a readiness-only one does not', async () => {
    const dir = tempDir('rm-liveness-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  live:
    command: ["sh", "-c", "touch live-ok; exec sleep 1000"]
    directory: ${dir}
    startsecs: 0
    healthcheck: {exec: "test -f live-ok", interval: 100ms, retries: 3, liveness: true}
  ready:
    command: ["sh", "-c", "touch ready-ok; exec sleep 1000"]
    directory: ${dir}
    startsecs: 0
    healthcheck: {exec: "test -f ready-ok", interval: 100ms, retries: 3}
`, dir)] });
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      await until(async () => (await status(socket)).every((p) => p.health?.status === 'healthy'), 10_000, 'both healthy');
      const before = { live: (await statusOf(socket, 'live')).pid, ready: (await statusOf(socket, 'ready')).pid };
      rmSync(path.join(dir, 'live-ok'));
      rmSync(path.join(dir, 'ready-ok'));
      await rm.waitFor(/live failed its liveness check 3 times in a row: restarting/);
      await until(async () => (await statusOf(socket, 'live')).health?.status === 'healthy', 10_000, 'live healthy again');
      const live = await statusOf(socket, 'live');
      assert.notEqual(live.pid, before.live);
      assert.equal(live.restarts, 1);
      assert.ok(!alive(before.live));
      await until(async () => (await statusOf(socket, 'ready')).health?.status === 'unhealthy', 10_000, 'ready unhealthy');
      await sleep(500);
      const ready = await statusOf(socket, 'ready');
      assert.equal(ready.pid, before.ready);
      assert.equal(ready.restarts, 0);
      assert.equal(ready.state, 'RUNNING');
      const r = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(r.status, 503);
      assert.ok(JSON.parse(r.body).reasons.some((x: string) => /^ready is RUNNING but unhealthy \(exit status 1\)$/.test(x)), r.body);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});

describe('§6 health in the event stream', () => {
  it('GET /v1/events carries health changes as lines of their own', async () => {
    const dir = tempDir('rm-events-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  web:
    command: ["sh", "-c", "sleep 0.5; touch ok; exec sleep 1000"]
    directory: ${dir}
    startsecs: 0
    autostart: false
    healthcheck: {exec: "test -f ok", interval: 100ms, start_period: 10s}
`, dir)] });
    const lines: Array<Record<string, unknown>> = [];
    let req: ReturnType<typeof request> | undefined;
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      let buffered = '';
      req = request({ socketPath: socket, path: '/v1/events' });
      await new Promise<void>((resolve, reject) => {
        req!.on('response', (res) => {
          res.setEncoding('utf8').on('data', (d: string) => {
            const parts = (buffered + d).split('\n');
            buffered = parts.pop()!;
            for (const p of parts) lines.push(JSON.parse(p));
          });
          resolve();
        });
        req!.on('error', reject);
        req!.end();
      });
      const start = new Ringmaster({ args: ['ctl', '-s', socket, 'start', 'web'] });
      assert.equal((await start.wait()).code, 0, start.stdout);
      await until(async () => lines.some((l) => l.health === 'healthy'), 10_000, 'a health line');
      const health = lines.find((l) => l.health === 'healthy')!;
      assert.deepEqual({ ...health, time: undefined }, { time: undefined, name: 'web', group: 'web', namespec: 'web', health: 'healthy', previous: 'starting', output: '' });
      assert.ok(lines.findIndex((l) => l.to === 'RUNNING') < lines.indexOf(health));
    } finally {
      req?.destroy();
      rm.kill();
      await rm.exited;
    }
  });
});

describe('§6 /readyz and /metrics', () => {
  it('/readyz flips 503 -> 200 -> 503 as programs come and go', async () => {
    const dir = tempDir('rm-readyz-');
    const socket = path.join(dir, 'rm.sock');
    const port = await freePort();
    const server = `setTimeout(() => require('net').createServer((c) => c.end()).listen(${port}, '127.0.0.1'), 2500)`;
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  web: {command: [${NODE}, "-e", ${JSON.stringify(server)}], startsecs: 0, healthcheck: {tcp: "${port}", interval: 100ms, start_period: 10s}}
  extra: {command: sleep 1000, autostart: false}
`, dir)] });
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      const first = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(first.status, 503);
      assert.match(first.body, /web is (RUNNING but starting|STARTING|STOPPED)/);
      await until(async () => (await httpUnix(socket, 'GET', '/readyz')).status === 200, 10_000, '/readyz 200');
      assert.equal((await httpUnix(socket, 'GET', '/healthz')).status, 200);
      // A program that is not autostarted does not count; stopping an autostarted one does.
      const stop = new Ringmaster({ args: ['ctl', '-s', socket, 'stop', 'web'] });
      assert.equal((await stop.wait()).code, 0, stop.stdout);
      const gone = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(gone.status, 503);
      assert.deepEqual(JSON.parse(gone.body).reasons, ['web is STOPPED']);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });

  it('/metrics is valid Prometheus text with the SPEC §6 names, sampled when scraped', async () => {
    const dir = tempDir('rm-metrics-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  web:
    command: [${NODE}, "-e", "const a = []; for (let i = 0; i < 2e6; i++) a.push(i); require('fs').writeFileSync('built', ''); setInterval(() => a.length, 1000)"]
    directory: ${dir}
    startsecs: 0
    # Healthy once the array is built: the figures below are read after that.
    healthcheck: {exec: "test -f built", interval: 200ms}
  worker: {command: sleep 1000, numprocs: 2, startsecs: 0}
  once: {command: "true", startsecs: 0, autorestart: false}
  off: {command: sleep 1000, autostart: false}
groups:
  jobs: [worker]
`, dir)] });
    try {
      await rm.waitFor(/web is healthy/);
      await rm.waitFor(/worker_01 entered RUNNING/);
      await rm.waitFor(/exited: once/);
      const r = await httpUnix(socket, 'GET', '/metrics');
      assert.equal(r.status, 200);
      assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
      const families = parsePrometheus(r.body);
      const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
      assert.deepEqual(
        {
          state: types.ringmaster_process_state, restarts: types.ringmaster_process_restarts_total, cpu: types.ringmaster_process_cpu_seconds_total,
          rss: types.ringmaster_process_resident_memory_bytes, start: types.ringmaster_process_start_time_seconds,
        },
        { state: 'gauge', restarts: 'counter', cpu: 'counter', rss: 'gauge', start: 'gauge' },
      );
      const state = families.get('ringmaster_process_state')!.samples;
      const names = [...new Set(state.map((s) => s.labels.process))].sort();
      assert.deepEqual(names, ['jobs:worker_00', 'jobs:worker_01', 'off', 'once', 'web']);
      for (const n of names) {
        const mine = state.filter((s) => s.labels.process === n);
        assert.equal(mine.reduce((a, s) => a + s.value, 0), 1, `${n} is in exactly one state`);
      }
      const current = (n: string) => state.find((s) => s.labels.process === n && s.value === 1)!;
      assert.deepEqual(current('web').labels, { process: 'web', group: 'web', state: 'RUNNING' });
      assert.deepEqual(current('jobs:worker_01').labels, { process: 'jobs:worker_01', group: 'jobs', state: 'RUNNING' });
      assert.equal(current('once').labels.state, 'EXITED');
      assert.equal(current('off').labels.state, 'STOPPED');
      const value = (family: string, process: string) => families.get(family)!.samples.find((s) => s.labels.process === process)?.value;
      const web = (await statusOf(socket, 'web'));
      assert.equal(value('ringmaster_process_restarts_total', 'web'), 0);
      // The node program built a 2e6-element array: tens of MB resident, some CPU spent.
      assert.ok(value('ringmaster_process_resident_memory_bytes', 'web')! > 20 * 1024 * 1024, r.body);
      const cpu = value('ringmaster_process_cpu_seconds_total', 'web')!;
      assert.ok(cpu > 0 && cpu < 60, `cpu ${cpu}`);
      const started = value('ringmaster_process_start_time_seconds', 'web')!;
      assert.ok(Math.abs(started - Date.now() / 1000) < 60, `start time ${started}`);
      assert.ok(web.pid > 0);
      // Not running: no CPU, memory or start time sample.
      assert.equal(value('ringmaster_process_resident_memory_bytes', 'once'), undefined);
      assert.equal(value('ringmaster_process_cpu_seconds_total', 'off'), undefined);
      const health = families.get('ringmaster_process_health')!.samples.filter((s) => s.value === 1);
      assert.deepEqual(health.map((s) => s.labels), [{ process: 'web', group: 'web', status: 'healthy' }]);
      // Sampled when scraped: CPU time of a busy program grows between two scrapes.
      await sleep(100);
      const again = parsePrometheus((await httpUnix(socket, 'GET', '/metrics')).body);
      assert.ok(again.get('ringmaster_process_cpu_seconds_total')!.samples.find((s) => s.labels.process === 'web')!.value >= cpu);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});

describe('§6 the settings.http listener and reload with health', () => {
  it('/metrics, /readyz and /healthz answer on settings.http without credentials; the API does not', async () => {
    const dir = tempDir('rm-http-metrics-');
    const port = await freePort();
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}, http: "127.0.0.1:${port}", http_username: admin, http_password: secret}
programs:
  web: {command: sleep 1000, startsecs: 0, healthcheck: {exec: "true", interval: 100ms}}
`, dir)] });
    try {
      await rm.waitFor(/web is healthy/);
      const url = `http://127.0.0.1:${port}`;
      const metrics = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      assert.equal(metrics.status, 200);
      const families = parsePrometheus(await metrics.text());
      assert.equal(families.get('ringmaster_process_state')!.samples.find((s) => s.value === 1)?.labels.state, 'RUNNING');
      assert.equal((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) })).status, 200);
      assert.equal((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).status, 200);
      assert.equal((await fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(5000) })).status, 401);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });

  it('a program added by reload waits for its dependency to be healthy; a removed one stops being checked', async () => {
    const dir = tempDir('rm-reload-health-');
    const socket = path.join(dir, 'rm.sock');
    const file = path.join(dir, 'ringmaster.yaml');
    const db = `db: {command: ["sh", "-c", "sleep 1; touch up; exec sleep 1000"], directory: ${dir}, startsecs: 0, healthcheck: {exec: "test -f up", interval: 100ms, start_period: 30s}}`;
    const extra = `extra: {command: sleep 1000, startsecs: 0, healthcheck: {exec: ["sh", "-c", "echo checked >> ${dir}/extra-checks"], interval: 100ms}}`;
    writeFileSync(file, `settings: {socket: ${socket}}\nprograms:\n  ${extra}\n`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/extra is healthy/);
      writeFileSync(file, `settings: {socket: ${socket}}\nprograms:\n  ${db}\n  app: {command: sleep 1000, startsecs: 0, depends_on: {db: healthy}}\n`);
      const reload = new Ringmaster({ args: ['ctl', '-s', socket, 'reload'] });
      assert.equal((await reload.wait()).code, 0, reload.stdout + reload.stderr);
      await rm.waitFor(/app waits for db \(healthy\)/);
      await rm.waitFor(/db is healthy/);
      await rm.waitFor(/app entered RUNNING/);
      assert.ok(rm.stdout.indexOf('db is healthy') < rm.stdout.indexOf('spawned: app'));
      const checks = readFileSync(path.join(dir, 'extra-checks'), 'utf8').length;
      await sleep(400);
      assert.equal(readFileSync(path.join(dir, 'extra-checks'), 'utf8').length, checks, 'the removed program is no longer checked');
      assert.deepEqual((await status(socket)).map((p) => p.name).sort(), ['app', 'db']);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});

describe('§4 shutdown order with depends_on', () => {
  it('dependents stop before their dependencies, each level gone before the next, whatever the priorities', async () => {
    const dir = tempDir('rm-order-');
    // Each says `ready` once its trap is set: a TERM before that would kill it (a race on a busy machine).
    const trap = (name: string) => `["sh", "-c", "trap 'sleep 0.3; echo ${name} done; exit 0' TERM; echo ready; while :; do sleep 0.1; done"]`;
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  db: {command: ${trap('db')}, startsecs: 0, priority: 900}
  api: {command: ${trap('api')}, startsecs: 0, priority: 1, depends_on: [db]}
  web: {command: ${trap('web')}, startsecs: 0, priority: 1, depends_on: [api]}
`, dir)] });
    for (const name of ['db', 'api', 'web']) await rm.waitFor(new RegExp(`^${name} +\\| ready$`, 'm'));
    await rm.signal('SIGTERM');
    const exit = await rm.wait();
    assert.equal(exit.code, 0, rm.stdout);
    const at = (s: string) => {
      const i = rm.stdout.search(new RegExp(s, 'm'));
      assert.ok(i !== -1, `missing ${s}\n${rm.stdout}`);
      return i;
    };
    assert.ok(at('stopping web$') < at('^web +\\| web done'));
    assert.ok(at('stopped: web') < at('stopping api$'));
    assert.ok(at('stopped: api') < at('stopping db$'));
    assert.ok(at('stopping db$') < at('^db +\\| db done'));
  });
});
