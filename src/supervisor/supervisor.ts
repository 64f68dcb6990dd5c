import { trySignal } from '../signal-util';
import { EventEmitter } from 'node:events';
import type { Config } from '../config/types';
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
}

export interface StateChange {
  process: SupervisedProcess;
  from: ProcessState;
  to: ProcessState;
}

export interface SupervisorEvents {
  state: [StateChange];
  /** A shutdown began (once). */
  shutdown: [];
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
          onTransition: (process, from, to) => this.emit('state', { process, from, to }),
          onEnded: (p, code, expected) => this.onEnded(p, code, expected),
          mayRestart: () => !this.shuttingDown,
        }),
    );
    this.judge = new ExitPolicyJudge(config.settings.exitPolicy, this.processes);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Start every autostart program that is not disabled, lowest priority first. */
  start(): void {
    for (const p of this.processes) {
      const program = p.spec.program;
      if (program.autostart && !program.disabled) p.start();
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
    this.exitCode = code;
    this.deps.log(reason);
    this.emit('shutdown');
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
    for (const level of this.stopLevels()) {
      const names = level.filter((p) => p.active || p.pgid !== 0).map((p) => p.name);
      if (names.length > 0) this.deps.log(`stopping ${names.join(', ')}`);
      await Promise.all(level.map((p) => p.stop()));
    }
    clearTimeout(deadline);
    await killLeftoverChildren(this.deps.log);
    await this.deps.settleOutput?.();
    for (const p of this.processes) this.deps.log(summaryLine(p));
    this.resolveFinished(this.exitCode);
  }

  /** Groups of processes by priority, highest number first (they started last). */
  private stopLevels(): SupervisedProcess[][] {
    const byPriority = new Map<number, SupervisedProcess[]>();
    for (const p of this.processes) {
      const prio = p.spec.program.priority;
      if (!byPriority.has(prio)) byPriority.set(prio, []);
      byPriority.get(prio)!.push(p);
    }
    return [...byPriority.entries()].sort((a, b) => b[0] - a[0]).map(([, level]) => level);
  }

  private onEnded(p: SupervisedProcess, code: number, expected: boolean): void {
    if (this.shuttingDown) return;
    const endWith = this.judge.onEnded(p, code, expected);
    if (endWith === null) return;
    const policy = this.config.settings.exitPolicy;
    const why = p.state === 'FATAL' ? 'entered FATAL' : 'exited';
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
