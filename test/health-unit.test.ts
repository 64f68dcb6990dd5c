// Unit tests of the health state (SPEC §2 healthcheck: retries, start_period, liveness) and the
// dependency gate and shutdown levels, with scripted children and check results: no OS process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS } from '../src/config/settings';
import type { Config, HealthCheckConfig, ProgramConfig } from '../src/config/types';
import { HealthMonitor, type HealthStatus } from '../src/health/monitor';
import { stopLevels } from '../src/supervisor/dependencies';
import type { ExitStatus } from '../src/exit-status';
import { Bus } from '../src/bus';
import { Supervisor } from '../src/supervisor/supervisor';
import { program } from './support/program';

// Pids above the kernel's pid_max: any signal sent to them fails with ESRCH.
let nextPid = 6_000_000;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exec(overrides: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return { probe: { kind: 'exec', argv: ['check'], text: 'check' }, intervalMs: 20, timeoutMs: 1000, retries: 3, startPeriodMs: 0, liveness: false, source: { file: 't', line: 1, col: 1 }, ...overrides };
}

/** A process's spec (never spawned: the monitor only reads it) and a monitor whose checks answer `pass()`. */
function monitored(hc: HealthCheckConfig, pass: (n: number) => boolean) {
  const p = { program: program({ name: 'p', healthcheck: hc }), name: 'p', group: 'p', namespec: 'p', processNum: 0 };
  let n = 0;
  const monitor = new HealthMonitor({
    spawnCheck: () => ({ pid: nextPid++, exited: Promise.resolve({ code: pass(++n) ? 0 : 1, signal: null }) }),
  });
  const changes: HealthStatus[] = [];
  monitor.on('change', (c) => changes.push(c.to));
  return { p, monitor, changes, checks: () => n };
}

describe('healthcheck state (Docker semantics)', () => {
  it('is starting until the first pass, healthy after it, unhealthy after `retries` failures in a row', async () => {
    const m = monitored(exec({ retries: 3 }), (n) => n === 2 || n === 3); // fail, pass, pass, fail, fail, fail...
    m.monitor.begin(m.p);
    assert.equal(m.monitor.state(m.p)?.status, 'starting');
    await tick(400);
    m.monitor.end(m.p);
    assert.deepEqual(m.changes, ['healthy', 'unhealthy']);
  });

  it('one failure fewer than `retries` keeps it healthy', async () => {
    const m = monitored(exec({ retries: 3 }), (n) => n % 3 === 1); // pass, fail, fail, pass, fail, fail...
    m.monitor.begin(m.p);
    await tick(400);
    m.monitor.end(m.p);
    assert.ok(m.checks() > 6);
    assert.deepEqual(m.changes, ['healthy']);
  });

  it('failures within start_period do not count; after it they do', async () => {
    const m = monitored(exec({ retries: 1, startPeriodMs: 250 }), () => false);
    m.monitor.begin(m.p);
    await tick(150);
    assert.equal(m.monitor.state(m.p)?.status, 'starting');
    assert.ok(m.checks() >= 3, 'it was checked meanwhile');
    await tick(300);
    assert.equal(m.monitor.state(m.p)?.status, 'unhealthy');
    m.monitor.end(m.p);
  });

  it('a pass within start_period makes it healthy at once', async () => {
    const m = monitored(exec({ startPeriodMs: 10_000 }), (n) => n >= 2);
    m.monitor.begin(m.p);
    await tick(150);
    assert.equal(m.monitor.state(m.p)?.status, 'healthy');
    m.monitor.end(m.p);
  });

  it('end() stops the probes and forgets the state; begin() starts over at starting', async () => {
    const m = monitored(exec(), () => true);
    m.monitor.begin(m.p);
    await tick(100);
    m.monitor.end(m.p);
    const n = m.checks();
    await tick(100);
    assert.equal(m.checks(), n, 'no probe after end()');
    assert.equal(m.monitor.state(m.p), undefined);
    m.monitor.begin(m.p);
    assert.equal(m.monitor.state(m.p)?.status, 'starting');
    m.monitor.close();
  });
});

/** A Supervisor over scripted children: `exit(name, code)` ends the latest child of a process. */
function supervisorOf(programs: ProgramConfig[], checks: (name: string) => boolean = () => true) {
  const exits = new Map<string, (s: ExitStatus) => void>();
  const spawned: string[] = [];
  const config: Config = { settings: { ...DEFAULT_SETTINGS, exitPolicy: 'critical' }, programs, groups: [], files: [] };
  const bus = new Bus();
  const health = new HealthMonitor({
    spawnCheck: (spec) => ({ pid: nextPid++, exited: Promise.resolve({ code: checks(spec.name) ? 0 : 1, signal: null }) }),
  });
  health.follow(bus);
  const sup = Object.assign(new Supervisor(config, {
    bus,
    launch: (spec) => {
      spawned.push(spec.name);
      return { pid: nextPid++, exited: new Promise<ExitStatus>((r) => exits.set(spec.name, r)) };
    },
    log: () => {},
    healthOf: (spec) => health.state(spec),
  }), { health });
  const exit = (name: string, code: number) => exits.get(name)!({ code, signal: null });
  const proc = (name: string) => sup.processes.find((p) => p.name === name)!;
  return { sup, spawned, exit, proc };
}

describe('dependency gate', () => {
  it('a dependency with numprocs: every one of its processes must meet the condition', async () => {
    const s = supervisorOf([
      program({ name: 'a', numprocs: 2, processName: '%(program_name)s_%(process_num)02d', startsecsMs: 0 }),
      program({ name: 'b', startsecsMs: 0, dependsOn: [{ program: 'a', condition: 'started', source: { file: 't', line: 1, col: 1 } }] }),
    ]);
    s.proc('a_01').spec.program = { ...s.proc('a_01').spec.program, autostart: false };
    s.sup.start();
    assert.deepEqual(s.spawned, ['a_00']);
    assert.match(s.sup.waitingReason(s.proc('b')), /^waiting for a:a_01 \(started\): a:a_01 is STOPPED$/);
    s.proc('a_01').start();
    assert.deepEqual(s.spawned, ['a_00', 'a_01', 'b']);
    assert.equal(s.sup.waitingReason(s.proc('b')), '');
  });

  it('healthy waits for RUNNING and a passing check; cancelWaiting drops a waiter', async () => {
    let dbUp = false;
    const dep = (condition: 'healthy') => [{ program: 'db', condition, source: { file: 't', line: 1, col: 1 } }];
    const s = supervisorOf([
      program({ name: 'db', startsecsMs: 0, healthcheck: exec({ intervalMs: 10 }) }),
      program({ name: 'app', startsecsMs: 0, dependsOn: dep('healthy') }),
      program({ name: 'other', startsecsMs: 0, dependsOn: dep('healthy') }),
    ], (name) => name !== 'db' || dbUp);
    s.sup.start();
    assert.deepEqual(s.spawned, ['db']);
    assert.ok(s.sup.cancelWaiting(s.proc('other')));
    await tick(50);
    assert.deepEqual(s.spawned, ['db']);
    dbUp = true;
    await tick(50);
    assert.deepEqual(s.spawned, ['db', 'app']);
    s.sup.health.close();
  });
});

describe('shutdown levels', () => {
  it('dependents first, then by priority (highest number first); independent programs keep plain priority order', () => {
    const dep = (name: string) => ({ program: name, condition: 'started' as const, source: { file: 't', line: 1, col: 1 } });
    const s = supervisorOf([
      program({ name: 'db', priority: 500 }),
      program({ name: 'api', priority: 1, dependsOn: [dep('db')] }),
      program({ name: 'web', priority: 1, dependsOn: [dep('api'), dep('db')] }),
      program({ name: 'cron', priority: 2, dependsOn: [dep('db')] }),
      program({ name: 'x', priority: 999 }),
      program({ name: 'y', priority: 10 }),
    ]);
    assert.deepEqual(stopLevels(s.sup.processes).map((l) => l.map((p) => p.name)), [['web'], ['cron'], ['api'], ['x'], ['db'], ['y']]);
  });
});
