// Health of each process with a healthcheck (SPEC §2): probes start when the process is spawned
// and stop when it stops or exits; the state is per process and dropped with it, so processes
// added or removed at runtime (reload) need nothing special.
import { EventEmitter } from 'node:events';
import type { Bus } from '../bus';
import type { HealthCheckConfig } from '../config/types';
import type { OutputObserver } from '../output/types';
import type { HealthState, HealthStatus, ProcessSpec } from '../types';
import { watchLog } from './log-watch';
import { execProbe, httpProbe, tcpProbe, type CheckChild, type ProbeResult } from './probes';

export type { HealthState, HealthStatus };

export interface HealthChange {
  spec: ProcessSpec;
  from: HealthStatus;
  to: HealthStatus;
  state: HealthState;
}

export interface HealthMonitorDeps {
  /**
   * Start a check command as the program (its user, directory, environment), own process group;
   * its output on a pipe only with `capture`.
   */
  spawnCheck?(spec: ProcessSpec, argv: string[], capture: boolean): CheckChild;
  /** Watch a process's output (for `log` checks). */
  observeOutput?(name: string, observer: OutputObserver): () => void;
  now?: () => number;
}

export interface HealthMonitorEvents {
  change: [HealthChange];
}

/** One run of one process: its probe loop and its state. */
class Checker {
  readonly state: HealthState;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private unwatch: (() => void) | undefined;
  private stopped = false;
  private readonly begun: number;

  constructor(
    private readonly spec: ProcessSpec,
    private readonly config: HealthCheckConfig,
    private readonly deps: HealthMonitorDeps,
    private readonly now: () => number,
    private readonly onChange: (from: HealthStatus, state: HealthState) => void,
  ) {
    this.begun = now();
    this.state = { status: 'starting', since: this.begun, failures: 0, passedOnce: false, output: '', checks: 0 };
  }

  start(): void {
    const probe = this.config.probe;
    if (probe.kind === 'log') {
      this.unwatch = this.deps.observeOutput?.(this.spec.name, watchLog(new RegExp(probe.pattern), (line) => {
        this.unwatchLog();
        this.record({ ok: true, output: line });
      }));
      // A line that never comes must not keep dependents waiting in silence (process-compose
      // #363): after start_period and `retries` intervals without it, the process is unhealthy.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.state.passedOnce) return;
        this.state.failures = this.config.retries;
        this.setStatus('unhealthy', `no line matching /${probe.pattern}/ after ${(this.logDeadline() / 1000).toFixed(1)}s`);
      }, this.logDeadline());
      return;
    }
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.unwatchLog();
  }

  private logDeadline(): number {
    return this.config.startPeriodMs + this.config.intervalMs * this.config.retries;
  }

  private unwatchLog(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runOnce();
    }, delay);
  }

  /** One probe; the next starts `interval` after this one started (never two at once). */
  private async runOnce(): Promise<void> {
    const started = this.now();
    const result = await this.probe();
    if (this.stopped) return;
    this.record(result);
    if (this.stopped) return; // a liveness restart may have stopped us meanwhile
    this.schedule(Math.max(0, started + this.config.intervalMs - this.now()));
  }

  private probe(): Promise<ProbeResult> {
    const { probe, timeoutMs } = this.config;
    const signal = this.abort.signal;
    switch (probe.kind) {
      case 'exec': {
        const spawn = this.deps.spawnCheck;
        if (!spawn) return Promise.resolve({ ok: false, output: 'exec checks are not available here' });
        // A healthy program's checks (the steady state) write to /dev/null: a pipe costs about as
        // much as the spawn. Once one fails, their output is kept, to show why.
        const capture = this.state.status !== 'healthy' || this.state.failures > 0;
        return execProbe(() => spawn(this.spec, probe.argv, capture), timeoutMs, signal);
      }
      case 'http':
        return httpProbe(probe.url, timeoutMs, signal);
      case 'tcp':
        return tcpProbe(probe.host, probe.port, timeoutMs, signal);
      default:
        return Promise.resolve({ ok: false, output: 'not a periodic probe' });
    }
  }

  private record(result: ProbeResult): void {
    const s = this.state;
    s.checks++;
    if (result.ok) {
      s.failures = 0;
      s.passedOnce = true;
      this.setStatus('healthy', result.output);
      return;
    }
    s.output = result.output;
    // Docker: failures during start_period do not count, unless the check has passed already.
    if (!s.passedOnce && this.now() - this.begun < this.config.startPeriodMs) return;
    s.failures++;
    if (s.failures >= this.config.retries) this.setStatus('unhealthy', result.output);
  }

  private setStatus(to: HealthStatus, output: string): void {
    const from = this.state.status;
    this.state.output = output;
    if (from === to) return;
    this.state.status = to;
    this.state.since = this.now();
    this.onChange(from, this.state);
  }
}

/**
 * Owns every running check. It follows the processes on the bus: a run begins at STARTING and
 * ends at any state but RUNNING (or when the process is removed); every status change is
 * published as `process.health`. Everyone else reads `state` (the supervisor's healthOf).
 */
export class HealthMonitor extends EventEmitter<HealthMonitorEvents> {
  private readonly checkers = new Map<string, { spec: ProcessSpec; checker: Checker }>();
  private readonly now: () => number;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly deps: HealthMonitorDeps = {}) {
    super();
    this.now = deps.now ?? Date.now;
  }

  /** Follow the processes' states on `bus` and publish health changes there. */
  follow(bus: Bus): void {
    this.offs.push(
      bus.on('process.state', ({ spec, to }) => {
        if (to === 'STARTING') this.begin(spec);
        else if (to !== 'RUNNING') this.end(spec);
      }),
      bus.on('processes.changed', ({ processes }) => {
        const present = new Set(processes.map((p) => p.namespec));
        for (const { spec } of [...this.checkers.values()]) if (!present.has(spec.namespec)) this.end(spec);
      }),
    );
    const publish = (change: HealthChange) => bus.emit('process.health', change);
    this.on('change', publish);
    this.offs.push(() => this.off('change', publish));
  }

  /** A fresh run of `spec`'s process began: its health starts over at `starting`. */
  begin(spec: ProcessSpec): void {
    this.end(spec);
    const config = spec.program.healthcheck;
    if (!config) return;
    const checker = new Checker(spec, config, this.deps, this.now, (from, state) => {
      if (this.checkers.get(spec.namespec)?.checker === checker) this.emit('change', { spec, from, to: state.status, state });
    });
    this.checkers.set(spec.namespec, { spec, checker });
    checker.start();
  }

  /** The run is over (stopping, exited, removed): its probes stop, a running one is killed. */
  end(spec: ProcessSpec): void {
    const entry = this.checkers.get(spec.namespec);
    if (!entry || entry.spec !== spec) return;
    this.checkers.delete(spec.namespec);
    entry.checker.stop();
  }

  /** The health of the current run; undefined without a healthcheck or while it is not running. */
  state(spec: ProcessSpec): HealthState | undefined {
    const entry = this.checkers.get(spec.namespec);
    return entry?.spec === spec ? entry.checker.state : undefined;
  }

  /** Stop everything (ringmaster exits). */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    for (const { spec } of [...this.checkers.values()]) this.end(spec);
  }
}
