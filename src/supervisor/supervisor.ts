import { trySignal } from '../signal-util';
import { EventEmitter } from 'node:events';
import type { Config } from '../config/types';
import { HealthMonitor, type HealthChange, type HealthMonitorDeps, type HealthState } from '../health/monitor';
import { DependencyGate, stopLevels } from './dependencies';
import { describeExit } from './exit-status';
import { ExitPolicyJudge } from './exit-policy';
import { SupervisedProcess, type ProcessSpec, type StartedChild } from './process';
import { processSpecs } from './process-names';
import { killLeftoverChildren } from './leftovers';
import type { ProcessState } from './states';

export interface SupervisorDeps {
  /** Starts the child of a process, wiring its output; throws a SpawnFailure-shaped error. */
  launch(spec: ProcessSpec): StartedChild;
  log(text: string): void;
  /** Wait (bounded) until the programs' last output was written, so it precedes the summary. */
  settleOutput?(): Promise<void>;
  /** For exec healthchecks: start a check command as the program would be started. */
  spawnCheck?: HealthMonitorDeps['spawnCheck'];
  /** For log healthchecks: watch a process's output. */
  observeOutput?: HealthMonitorDeps['observeOutput'];
}

export interface StateChange {
  process: SupervisedProcess;
  from: ProcessState;
  to: ProcessState;
}

export interface SupervisorEvents {
  state: [StateChange];
  health: [HealthChange];
}

/**
 * The orchestrator: owns every SupervisedProcess, starts them in priority order, applies the
 * exit policy, and runs the ordered shutdown. Everything outside asks it through its methods
 * and listens to its events.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly processes: SupervisedProcess[];
  /** Resolves with ringmaster's exit code once the shutdown is complete. */
  readonly finished: Promise<number>;

  private shuttingDown = false;
  private exitCode = 0;
  private resolveFinished!: (code: number) => void;
  private readonly judge: ExitPolicyJudge;
  /** Health of the processes with a healthcheck (read it with healthOf). */
  readonly health: HealthMonitor;
  private readonly gate: DependencyGate;

  constructor(
    private readonly config: Config,
    private readonly deps: SupervisorDeps,
  ) {
    super();
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.processes = config.programs.flatMap(processSpecs).map(
      (spec) =>
        new SupervisedProcess(spec, {
          spawn: (s) => deps.launch(s),
          log: deps.log,
          onTransition: (process, from, to) => {
            this.emit('state', { process, from, to });
            this.afterTransition(process, to);
          },
          onEnded: (p, code, expected) => this.onEnded(p, code, expected),
          mayRestart: () => !this.shuttingDown,
        }),
    );
    this.judge = new ExitPolicyJudge(config.settings.exitPolicy, this.processes);
    this.health = new HealthMonitor({ spawnCheck: deps.spawnCheck, observeOutput: deps.observeOutput });
    this.health.on('change', (change) => this.onHealthChange(change));
    this.gate = new DependencyGate(this, {
      start: (p) => p.start(),
      mayStart: () => !this.shuttingDown,
      log: deps.log,
      blocked: (p, code, why) => this.onEnded(p, code, false, `cannot start (${why})`),
    });
  }

  /** The health of a process's current run; undefined without a healthcheck or when not running. */
  healthOf(p: SupervisedProcess): HealthState | undefined {
    return this.health.state(p);
  }

  /** Why a process waits for its dependencies ('' when it does not). */
  waitingReason(p: SupervisedProcess): string {
    return this.gate.reason(p);
  }

  /** A waiting process is no longer started when its dependencies are met (`ctl stop`); true if it waited. */
  cancelWaiting(p: SupervisedProcess): boolean {
    return this.gate.cancel(p);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Start every autostart program that is not disabled, lowest priority first; one with
   * depends_on waits until its dependencies meet their conditions.
   */
  start(): void {
    for (const p of this.processes) {
      const program = p.spec.program;
      if (program.autostart && !program.disabled) this.gate.request(p);
    }
  }

  /** Send a signal to every running process's group (forward_signals, HUP until reload exists). */
  forwardSignal(sig: NodeJS.Signals): void {
    for (const p of this.processes) p.signal(sig);
  }

  /** A process outside our own bookkeeping was reaped: a group we wait for may now be empty. */
  onOrphanReaped(): void {
    for (const p of this.processes) p.checkGroup();
  }

  /**
   * Ordered shutdown (SPEC §4): levels of equal priority stop in parallel, highest priority
   * number first, each level fully gone before the next. A second call kills everything at once.
   */
  shutdown(reason: string, code = 0): void {
    if (this.shuttingDown) {
      this.deps.log(`${reason} during shutdown: killing everything now`);
      this.killAll();
      return;
    }
    this.shuttingDown = true;
    this.gate.clear();
    this.exitCode = code;
    this.deps.log(reason);
    void this.runShutdown();
  }

  /** SIGKILL every process group we know of; used by the deadline, a second signal and the failsafe. */
  killAll(): void {
    for (const p of this.processes) p.kill();
  }

  /**
   * The failsafe's synchronous last act: TERM to every process group, up to `graceMs` for them
   * to go, then SIGKILL to what is left. Nothing may live on unsupervised.
   */
  emergencyStop(graceMs = 1000): void {
    const groups = this.processes.map((p) => p.pgid).filter((g) => g !== 0);
    for (const g of groups) trySignal(-g, 'SIGTERM');
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + graceMs;
    while (Date.now() < until && groups.some((g) => trySignal(-g, 0))) Atomics.wait(sleeper, 0, 0, 10);
    for (const g of groups) trySignal(-g, 'SIGKILL');
  }

  private async runShutdown(): Promise<void> {
    const deadline = setTimeout(() => {
      this.deps.log(`shutdown_timeout (${this.config.settings.shutdownTimeoutMs / 1000}s) reached: killing everything`);
      this.killAll();
    }, this.config.settings.shutdownTimeoutMs);
    for (const level of stopLevels(this.processes)) {
      const names = level.filter((p) => p.active || p.pgid !== 0).map((p) => p.name);
      if (names.length > 0) this.deps.log(`stopping ${names.join(', ')}`);
      await Promise.all(level.map((p) => p.stop()));
    }
    clearTimeout(deadline);
    this.health.close();
    await killLeftoverChildren(this.deps.log);
    await this.deps.settleOutput?.();
    for (const p of this.processes) this.deps.log(summaryLine(p));
    this.resolveFinished(this.exitCode);
  }

  /** Health checks run while a process runs; dependents are looked at again on every change. */
  private afterTransition(p: SupervisedProcess, to: ProcessState): void {
    if (to === 'STARTING') this.health.begin(p);
    else if (to !== 'RUNNING') this.health.end(p);
    this.gate.reevaluate();
  }

  private onHealthChange(change: HealthChange): void {
    const { process: p, to, state } = change;
    this.deps.log(`${p.name} is ${to}${state.output && to !== 'healthy' ? ` (${state.output})` : ''}`);
    this.emit('health', change);
    const hc = p.spec.program.healthcheck;
    if (to === 'unhealthy' && hc?.liveness && state.passedOnce && p.state === 'RUNNING' && !this.shuttingDown) {
      this.deps.log(`${p.name} failed its liveness check ${state.failures} times in a row: restarting`);
      void p.stop().then(() => {
        if (!this.shuttingDown && p.state === 'STOPPED') p.start();
      });
    }
    this.gate.reevaluate();
  }

  private onEnded(p: SupervisedProcess, code: number, expected: boolean, reason?: string): void {
    if (this.shuttingDown) return;
    const endWith = this.judge.onEnded(p, code, expected);
    if (endWith === null) return;
    const policy = this.config.settings.exitPolicy;
    const why = reason ?? (p.state === 'FATAL' ? 'entered FATAL' : 'exited');
    this.shutdown(`${p.name} ${why} (exit_policy: ${policy}): shutting down with exit code ${endWith}`, endWith);
  }
}

function summaryLine(p: SupervisedProcess): string {
  if (p.spawns === 0) return `${p.name}: ${p.state}, never started`;
  const exit = p.spawnError
    ? `${p.spawnError.message}`
    : p.lastExit
      ? `exit code ${p.exitCode()} (${describeExit(p.lastExit)})`
      : 'still running';
  const restarts = `${p.restarts} restart${p.restarts === 1 ? '' : 's'}`;
  return `${p.name}: ${p.state}, ${exit}, ${restarts}`;
}
