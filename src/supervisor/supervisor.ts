import type { Bus } from '../bus';
import type { Config, HookName, ProgramConfig } from '../config/types';
import type { HealthState, KillCause, Log, StopCause } from '../types';
import { diffGroups, diffPrograms, programsByGroup, type ConfigDiff } from './config-diff';
import { DependencyGate, stopLevels } from './dependencies';
import { ExitPolicyJudge } from './exit-policy';
import { SupervisedProcess, type OomWitness, type ProcessDeps, type ProcessSpec, type StartedChild } from './process';
import { processSpecs } from './process-names';
import { ScheduledJob } from './scheduler';
import { snapshotOf, summaryLine } from './snapshot';
import { StageRunner } from './stages';
import type { ProcessState } from './states';

export interface SupervisorDeps {
  /** Starts the child of a process, wiring its output; throws a SpawnFailure-shaped error. */
  launch(spec: ProcessSpec): StartedChild;
  /** Finds the daemon of a `pidfile:` program (cli/daemon.ts). */
  findDaemon?: ProcessDeps['findDaemon'];
  log: Log;
  /** Run a program's hook (cli/hooks.ts): 0 when it succeeded, else its failure code. */
  runHook?(spec: ProcessSpec, hook: HookName, timeoutMs: number, signal: AbortSignal): Promise<number>;
  /** The memory cgroup's OOM-kill count, where there is one (pid1/oom.ts). */
  oom?: OomWitness;
  /** Where the supervisor publishes what happens, and hears health checks and reaped orphans. */
  bus: Bus;
  /** The health of a process's current run (the health monitor's, built by cli/run.ts). */
  healthOf?(spec: ProcessSpec): HealthState | undefined;
  /** Wait (bounded) until the programs' last output was written, so it precedes the summary. */
  settleOutput?(): Promise<void>;
  /** Hides secret values (`${file:}`, RINGMASTER_*_FILE) in text the APIs show. */
  redact?(text: string): string;
  /** After every program stopped: kill what is left of the container's processes (pid1's job). */
  killLeftovers?(): Promise<void>;
}

export type GroupChange = 'ok' | 'BAD_NAME' | 'ALREADY_ADDED' | 'STILL_RUNNING' | 'SHUTDOWN_STATE';

/**
 * The orchestrator: owns every SupervisedProcess, starts them in priority order (after their
 * depends_on), applies the exit policy, and runs the ordered shutdown. It publishes every change
 * on the bus; front ends reach it only through the SupervisorApi (local-api.ts).
 */
export class Supervisor {
  /** Sorted by (priority, program, process name); changed in place by reloads. */
  readonly processes: SupervisedProcess[] = [];
  /** Counts state changes and additions/removals: equal counts mean nothing changed between. */
  changes = 0;
  /** Resolves with ringmaster's exit code once the shutdown is complete. */
  readonly finished: Promise<number>;

  private shuttingDown = false;
  /** Main programs are started (by autostart, reload, addGroup) only once the init stage is over. */
  private mainStarted = false;
  /** Set when the shutdown turned into killing everything: no more finish program or hook runs. */
  private hardStop: KillCause | null = null;
  /** The pending start of the ordered stop during settings.shutdown_delay. */
  private delayTimer: NodeJS.Timeout | undefined;
  private readonly stages: StageRunner;
  private exitCode = 0;
  private resolveFinished!: (code: number) => void;
  private judge: ExitPolicyJudge;
  /** The config last read: what addGroup takes programs from (Supervisor's reread). */
  private latest: Config;
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly gate: DependencyGate;
  private readonly bus: Bus;
  private readonly unsubscribe: Array<() => void> = [];
  /** The scheduled jobs (`schedule:`), by their process. */
  private readonly jobs = new Map<SupervisedProcess, ScheduledJob>();

  constructor(
    private config: Config,
    private readonly deps: SupervisorDeps,
  ) {
    this.bus = deps.bus;
    this.latest = config;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.gate = new DependencyGate(
      { processes: this.processes, healthOf: (p) => this.healthOf(p) },
      {
        start: (p) => p.start(),
        mayStart: () => !this.shuttingDown,
        log: deps.log,
        blocked: (p, code, why) => this.onEnded(p, code, false, `cannot start (${why})`),
      },
    );
    this.unsubscribe.push(
      this.bus.on('process.health', (change) => this.onHealthChange(change.spec, change.to, change.state)),
      this.bus.on('pid1.reaped', ({ pid, status }) => {
        for (const p of this.processes) p.adoptedExit(pid, status);
        this.onOrphanReaped();
      }),
    );
    this.stages = new StageRunner({ processes: this.processes, log: deps.log, mayContinue: () => this.hardStop === null });
    this.addPrograms(config.programs);
    this.judge = new ExitPolicyJudge(config.settings.exitPolicy, this.processes);
  }

  /** The health of a process's current run; undefined without a healthcheck or when not running. */
  healthOf(p: SupervisedProcess): HealthState | undefined {
    return this.deps.healthOf?.(p.spec);
  }

  /** Why a process waits for its dependencies ('' when it does not). */
  waitingReason(p: SupervisedProcess): string {
    return this.gate.reason(p);
  }

  /** A waiting process is no longer started when its dependencies are met (`ctl stop`); true if it waited. */
  cancelWaiting(p: SupervisedProcess): boolean {
    return this.gate.cancel(p);
  }

  get settings(): Config['settings'] {
    return this.config.settings;
  }

  /** The programs that have processes now, in start order. */
  get programs(): ProgramConfig[] {
    return [...new Set(this.processes.map((p) => p.spec.program))];
  }

  /** Programs of the config last read ('avail'). */
  get latestPrograms(): readonly ProgramConfig[] {
    return this.latest.programs;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Start every autostart program that is not disabled, lowest priority first; one with
   * depends_on waits until its dependencies meet their conditions.
   */
  start(): void {
    // Without init programs the main ones start in this same turn, as before stages existed.
    if (this.stages.members('init').length === 0) {
      this.mainStarted = true;
      this.autostart(this.processes);
      return;
    }
    void this.runInitThenMain();
  }

  /** SPEC §10: every init program to its end, in order; the first failure ends the container with its code. */
  private async runInitThenMain(): Promise<void> {
    const failed = await this.stages.runInit(() => this.shuttingDown);
    if (this.shuttingDown) return;
    if (failed) {
      const how = failed.p.state === 'FATAL' ? `could not start (exit code ${failed.code})` : `exited with code ${failed.code}, not in its exitcodes`;
      this.deps.log(`init: ${failed.p.name} ${how}`, 'error');
      this.shutdown(`init failed: no main program was started; shutting down with exit code ${failed.code}`, failed.code);
      return;
    }
    this.mainStarted = true;
    this.autostart(this.processes);
  }

  private autostart(processes: readonly SupervisedProcess[]): void {
    if (!this.mainStarted) return;
    for (const p of processes) {
      const program = p.spec.program;
      if (!program.disabled) this.jobs.get(p)?.begin();
      if (program.autostart && !program.disabled && program.stage === 'main') this.gate.request(p);
    }
  }

  /** Remember a newly read config and tell how its groups differ (Supervisor's reloadConfig). */
  reread(next: Config): ConfigDiff {
    this.latest = next;
    return diffGroups(this.programs, next);
  }

  /** Add a group of the config last read and start its autostart programs (addProcessGroup). */
  addGroup(name: string): GroupChange {
    if (this.shuttingDown) return 'SHUTDOWN_STATE';
    const programs = programsByGroup(this.latest.programs).get(name);
    if (!programs) return 'BAD_NAME';
    if (this.processes.some((p) => p.spec.group === name)) return 'ALREADY_ADDED';
    this.autostart(this.addPrograms(programs));
    return 'ok';
  }

  /** Forget a group whose processes are all stopped (removeProcessGroup). */
  removeGroup(name: string): GroupChange {
    if (this.shuttingDown) return 'SHUTDOWN_STATE';
    const members = this.processes.filter((p) => p.spec.group === name);
    if (members.length === 0) return 'BAD_NAME';
    if (members.some((p) => p.active || p.pgid !== 0)) return 'STILL_RUNNING';
    this.removeProcesses(members);
    return 'ok';
  }

  /**
   * Apply a newly read config (SIGHUP, `ctl reload`): removed programs stop and go, changed ones
   * stop and start again with their new config, added ones start; the rest keep running
   * untouched. One reload at a time.
   */
  reload(next: Config): Promise<ConfigDiff> {
    const run = this.reloading.then(() => this.applyConfig(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyConfig(next: Config): Promise<ConfigDiff> {
    if (this.shuttingDown) throw new Error('ringmaster is shutting down');
    const diff = diffPrograms(this.programs, next.programs);
    this.latest = next;
    const going = new Set([...diff.removed, ...diff.changed]);
    const leaving = this.processes.filter((p) => going.has(p.spec.program.name));
    await Promise.all(leaving.map((p) => p.stop('reload')));
    if (this.shuttingDown) return diff;
    this.removeProcesses(leaving);
    if (next.settings.exitPolicy !== this.config.settings.exitPolicy) this.judge = new ExitPolicyJudge(next.settings.exitPolicy, this.processes);
    this.config = next;
    const coming = new Set([...diff.added, ...diff.changed]);
    this.autostart(this.addPrograms(next.programs.filter((p) => coming.has(p.name))));
    this.bus.emit('config.reloaded', diff);
    return diff;
  }

  private addPrograms(programs: readonly ProgramConfig[]): SupervisedProcess[] {
    const added = programs.flatMap(processSpecs).map(
      (spec) =>
        new SupervisedProcess(spec, {
          spawn: (s) => this.deps.launch(s),
          findDaemon: this.deps.findDaemon,
          log: this.deps.log,
          runHook: this.deps.runHook && ((spec, hook, timeoutMs, signal) => this.runHook(spec, hook, timeoutMs, signal)),
          onTransition: (process, from, to) => this.onTransition(process, from, to),
          onEnded: (p, code, expected) => this.onEnded(p, code, expected),
          mayRestart: () => !this.shuttingDown,
          oom: this.deps.oom,
        }),
    );
    for (const p of added) {
      const schedule = p.spec.program.schedule;
      if (!schedule) continue;
      this.jobs.set(p, new ScheduledJob(p, schedule, {
        log: this.deps.log,
        start: (q) => this.startProcess(q),
        stop: (q) => this.stopProcess(q, 'schedule'),
        mayRun: () => !this.shuttingDown,
      }));
    }
    this.processes.push(...added);
    this.processes.sort(startOrder);
    this.processesChanged();
    return added.sort(startOrder);
  }

  private removeProcesses(gone: readonly SupervisedProcess[]): void {
    const set = new Set(gone);
    const kept = this.processes.filter((p) => !set.has(p));
    this.processes.splice(0, this.processes.length, ...kept);
    for (const p of gone) {
      this.gate.cancel(p);
      this.jobs.get(p)?.end();
      this.jobs.delete(p);
    }
    this.processesChanged();
  }

  private processesChanged(): void {
    this.changes++;
    if (this.bus.has('processes.changed')) {
      this.bus.emit('processes.changed', { processes: this.processes.map((p) => this.snapshot(p)), programs: this.programs });
    }
  }

  /** One process as the API shows it. */
  snapshot(p: SupervisedProcess) {
    const s = snapshotOf(p, this.healthOf(p), this.gate.reason(p), this.jobs.get(p)?.state() ?? null);
    // A spawn error quotes the command, which may hold a secret.
    if (this.deps.redact) {
      s.spawnerr = this.deps.redact(s.spawnerr);
      s.description = this.deps.redact(s.description);
    }
    return s;
  }

  /** Text with the config's secret values hidden. */
  redact(text: string): string {
    return this.deps.redact ? this.deps.redact(text) : text;
  }

  /** Send a signal to every running process's group (forward_signals). */
  forwardSignal(sig: NodeJS.Signals): void {
    for (const p of this.processes) p.signal(sig);
  }

  /** A process outside our own bookkeeping was reaped: a group we wait for may now be empty. */
  onOrphanReaped(): void {
    for (const p of this.processes) p.checkGroup();
  }

  /**
   * Ordered shutdown (SPEC §4): dependents before their dependencies, then the highest priority
   * number first; a level stops in parallel and is fully gone before the next (stopLevels). A
   * second call kills everything at once.
   */
  shutdown(reason: string, code = 0, delayMs = 0): void {
    if (this.delayTimer) {
      // A second TERM or `ctl shutdown` during shutdown_delay: the ordered stop begins now.
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
      this.deps.log(`${reason}: the rest of shutdown_delay is skipped`);
      void this.runShutdown();
      return;
    }
    if (this.shuttingDown) {
      this.deps.log(`${reason} during shutdown: killing everything now`);
      this.killAll('second signal');
      return;
    }
    this.shuttingDown = true;
    this.gate.clear();
    for (const job of this.jobs.values()) job.end();
    this.exitCode = code;
    this.bus.emit('supervisor.stopping', { reason, code });
    if (delayMs > 0) {
      // SPEC §10: /readyz fails from now on (shuttingDown), the programs keep running meanwhile.
      this.deps.log(`${reason}: shutdown_delay ${delayMs / 1000}s, the programs keep running until then`);
      this.delayTimer = setTimeout(() => {
        this.delayTimer = undefined;
        void this.runShutdown();
      }, delayMs);
      return;
    }
    this.deps.log(reason);
    void this.runShutdown();
  }

  /** SIGKILL every process group we know of: the deadline and a second signal. */
  killAll(cause: KillCause, limit?: string): void {
    this.hardStop ??= cause;
    for (const p of this.processes) p.kill(cause, limit);
  }

  /** Hooks run unless the shutdown became a kill of everything (then they would outlive it). */
  private runHook(spec: ProcessSpec, hook: HookName, timeoutMs: number, signal: AbortSignal): Promise<number> {
    if (this.hardStop !== null) {
      this.deps.log(`${spec.name}: ${hook} hook not run: the shutdown ended at once (${this.hardStop})`, 'warn');
      return Promise.resolve(1);
    }
    return this.deps.runHook!(spec, hook, timeoutMs, signal);
  }

  /** The process groups that may still have members (the failsafe's targets). */
  liveGroups(): number[] {
    return this.processes.map((p) => p.pgid).filter((g) => g !== 0);
  }

  /** Stop one process for `cause` (the API's stop and restart, liveness): resolves when it is gone. */
  stopProcess(p: SupervisedProcess, cause: StopCause): Promise<void> {
    this.gate.cancel(p);
    return p.stop(cause);
  }

  /** Start one process now (the API's start): a pending wait for depends_on is dropped. */
  startProcess(p: SupervisedProcess): void {
    this.gate.cancel(p);
    p.start();
  }

  private async runShutdown(): Promise<void> {
    const limit = `${this.settings.shutdownTimeoutMs / 1000}s`;
    const deadline = setTimeout(() => {
      this.deps.log(`shutdown_timeout (${limit}) reached: killing everything`, 'warn');
      this.killAll('shutdown_timeout', limit);
    }, this.config.settings.shutdownTimeoutMs);
    for (const level of stopLevels(this.processes)) {
      const names = level.filter((p) => p.active || p.pgid !== 0).map((p) => p.name);
      if (names.length > 0) this.deps.log(`stopping ${names.join(', ')}`);
      await Promise.all(level.map((p) => p.stop('shutdown')));
    }
    // SPEC §10: finish programs after every main program stopped, whatever ended the container.
    await this.stages.runFinish();
    clearTimeout(deadline);
    for (const off of this.unsubscribe.splice(0)) off();
    await this.deps.killLeftovers?.();
    await this.deps.settleOutput?.();
    for (const p of this.processes) this.deps.log(summaryLine(p));
    this.resolveFinished(this.exitCode);
  }

  private onTransition(p: SupervisedProcess, from: ProcessState, to: ProcessState): void {
    this.changes++;
    this.jobs.get(p)?.onTransition(from, to);
    if (to === 'STOPPED') this.stages.ended(p, p.exitCode(), true);
    // Subscribers (the health monitor first) see the move before the gate looks at it again.
    if (this.bus.has('process.state')) this.bus.emit('process.state', { process: this.snapshot(p), spec: p.spec, from, to });
    this.gate.reevaluate();
  }

  /**
   * The process of `spec` holds more memory than its memory_limit (health/memory-watch.ts):
   * restart it the way a liveness failure does, through its ordinary stop, and say why on stderr.
   */
  restartForMemory(spec: ProcessSpec, why: string): void {
    const p = this.processes.find((q) => q.spec === spec);
    if (!p || this.shuttingDown || (p.state !== 'RUNNING' && p.state !== 'STARTING')) return;
    this.changes++;
    p.memoryRestarts++;
    this.deps.log(why, 'warn');
    void p.stop('memory_limit').then(() => {
      if (!this.shuttingDown && p.state === 'STOPPED' && this.processes.includes(p)) p.start();
    });
  }

  private onHealthChange(spec: ProcessSpec, to: string, state: HealthState): void {
    const p = this.processes.find((q) => q.spec === spec);
    if (!p) return;
    this.changes++;
    this.deps.log(`${p.name} is ${to}${state.output && to !== 'healthy' ? ` (${state.output})` : ''}`, to === 'unhealthy' ? 'warn' : 'info');
    const hc = p.spec.program.healthcheck;
    if (to === 'unhealthy' && hc?.liveness && state.passedOnce && p.state === 'RUNNING' && !this.shuttingDown) {
      this.deps.log(`${p.name} failed its liveness check ${state.failures} times in a row: restarting`, 'warn');
      void p.stop('liveness').then(() => {
        if (!this.shuttingDown && p.state === 'STOPPED' && this.processes.includes(p)) p.start();
      });
    }
    this.gate.reevaluate();
  }

  private onEnded(p: SupervisedProcess, code: number, expected: boolean, reason?: string): void {
    this.stages.ended(p, code, expected);
    // Init and finish programs end the container only by the stage rules (stages.ts); a
    // scheduled job's run ends no container, under any exit_policy (SPEC §11).
    if (this.shuttingDown || p.spec.program.stage !== 'main' || this.jobs.has(p)) return;
    const endWith = this.judge.onEnded(p, code, expected);
    if (endWith === null) return;
    const policy = this.config.settings.exitPolicy;
    const why = reason ?? (p.state === 'FATAL' ? 'entered FATAL' : 'exited');
    this.shutdown(`${p.name} ${why} (exit_policy: ${policy}): shutting down with exit code ${endWith}`, endWith);
  }
}

function startOrder(a: SupervisedProcess, b: SupervisedProcess): number {
  const pa = a.spec.program;
  const pb = b.spec.program;
  return pa.priority - pb.priority || compare(pa.name, pb.name) || a.spec.processNum - b.spec.processNum;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
