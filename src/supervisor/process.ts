import { groupAlive, trySignal } from '../signal-util';
import type { ProgramConfig } from '../config/types';
import { backoffDelay } from './backoff';
import { describeExit, isExpected, shellCode, type ExitStatus } from './exit-status';
import type { ProcessState } from './states';

/** One process of a program (a program with numprocs: 3 has three). */
export interface ProcessSpec {
  program: ProgramConfig;
  /** The process name, e.g. 'web' or 'worker_01': output prefixes use it. */
  name: string;
  group: string;
  /** Supervisor's namespec: 'web', or 'group:name' when they differ. */
  namespec: string;
  processNum: number;
}

/** What the state machine needs of a started child; the real one comes from src/pid1/spawn. */
export interface StartedChild {
  pid: number;
  exited: Promise<ExitStatus>;
  /** The write end of its stdin pipe (Supervisor's sendProcessStdin), if it has one. */
  stdin?: { write(data: Buffer, done: (err?: Error | null) => void): void; destroy(): void; readonly destroyed: boolean };
}

export type StdinResult = 'ok' | 'NOT_RUNNING' | 'NO_FILE';

export interface SpawnFailure {
  /** errno name, e.g. 'ENOENT' */
  code: string;
  message: string;
}

export interface ProcessDeps {
  /** Start the child for this spec, or throw a SpawnFailure-shaped error. */
  spawn(spec: ProcessSpec): StartedChild;
  /** A ringmaster message line. */
  log(text: string): void;
  /** Every state change, after it happened. */
  onTransition(p: SupervisedProcess, from: ProcessState, to: ProcessState): void;
  /** The process ended for good: exited and will not be restarted, or FATAL. */
  onEnded(p: SupervisedProcess, code: number, expected: boolean): void;
  /** False while ringmaster shuts down: no restarts then. */
  mayRestart(): boolean;
  now?: () => number;
  random?: () => number;
}

/** How often a stop re-checks a process group whose members are not our children (rare). */
const GROUP_RECHECK_MS = 250;

/**
 * Supervisor's state machine for one process (supervisor/process.py), with ringmaster's fixes:
 * exits are handled the moment they are reaped, every restart waits a jittered exponential
 * backoff, and a stop is done only when the whole process group is gone.
 */
export class SupervisedProcess {
  state: ProcessState = 'STOPPED';
  pid = 0;
  /** The pid of the current or last child (events report it for EXITED and STOPPED). */
  lastPid = 0;
  /** The group of the current or last child, while it may still have members. */
  pgid = 0;
  spawns = 0;
  lastExit: ExitStatus | null = null;
  spawnError: SpawnFailure | null = null;
  /** Why the process is in its state, in Supervisor's words (shown by status). */
  description = '';
  startedAt = 0;
  /** When the last child ended (Supervisor's laststop), 0 if none did. */
  stoppedAt = 0;
  stateSince: number;

  private startFailures = 0;
  private failStreak = 0;
  private timer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private groupTimer: NodeJS.Timeout | undefined;
  private stopWaiters: Array<() => void> = [];
  private stopping = false;
  private stdin: StartedChild['stdin'];
  private readonly now: () => number;

  constructor(
    readonly spec: ProcessSpec,
    private readonly deps: ProcessDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.stateSince = this.now();
  }

  get name(): string {
    return this.spec.name;
  }

  /** Running, on its way up or down, or waiting to be restarted. */
  get active(): boolean {
    return this.state === 'STARTING' || this.state === 'RUNNING' || this.state === 'BACKOFF' ||
      this.state === 'STOPPING' || this.timer !== undefined;
  }

  /** Consecutive failed starts so far (Supervisor's backoff count, `tries:` in events). */
  get tries(): number {
    return this.startFailures;
  }

  get restarts(): number {
    return Math.max(0, this.spawns - 1);
  }

  /** Start by request (autostart, ctl): a fresh count of retries, unlike Supervisor (#9 there). */
  start(): void {
    if (this.state === 'STARTING' || this.state === 'RUNNING' || this.state === 'STOPPING') return;
    this.startFailures = 0;
    this.failStreak = 0;
    this.spawn();
  }

  /** Resolves when the process and its whole process group are gone. */
  stop(): Promise<void> {
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    const restartWasPending = this.timer !== undefined;
    this.clearTimer();
    switch (this.state) {
      case 'STARTING':
      case 'RUNNING':
        this.setState('STOPPING');
        this.sendStopSignal();
        break;
      case 'STOPPING':
        break;
      case 'BACKOFF':
        this.setState('STOPPED');
        this.finishStopIfGroupGone();
        break;
      case 'EXITED':
        // A pending restart is cancelled; lingering members of the exited leader's group are stopped.
        if (restartWasPending) this.setState('STOPPED');
        this.finishStopIfGroupGone();
        break;
      default:
        this.finishStopIfGroupGone();
    }
    return done;
  }

  /** SIGKILL now, to the group when killasgroup (a second TERM, or the shutdown deadline). */
  kill(): void {
    const target = this.killTarget();
    if (target === 0) return;
    this.deps.log(`killing ${this.name} (pid ${this.pid || this.pgid}) with SIGKILL`);
    trySignal(target, 'SIGKILL');
  }

  /** Send a signal to the running process: to its group when stopasgroup (the default). */
  signal(sig: NodeJS.Signals): boolean {
    if (this.pid === 0) return false;
    return trySignal(this.spec.program.stopasgroup ? -this.pid : this.pid, sig);
  }

  /** Write to the running child's stdin; resolves once the data was handed to the pipe. */
  writeStdin(data: Buffer): Promise<StdinResult> {
    const stdin = this.stdin;
    if (this.pid === 0 || this.stopping || this.state === 'STOPPING') return Promise.resolve('NOT_RUNNING');
    if (!stdin || stdin.destroyed) return Promise.resolve('NO_FILE');
    return new Promise((resolve) => stdin.write(data, (err) => resolve(err ? 'NO_FILE' : 'ok')));
  }

  /** Called after any reap that may have emptied this process's group. */
  checkGroup(): void {
    if (this.stopping && this.pid === 0) this.finishStopIfGroupGone();
  }

  /** The code this process gives the container when it ends for good (SPEC §5). */
  exitCode(): number {
    if (this.state === 'FATAL' && this.spawnError) return this.spawnError.code === 'ENOENT' ? 127 : 126;
    if (!this.lastExit) return 0;
    if (this.state === 'FATAL' && this.lastExit.signal === null && this.lastExit.code === 0) return 1;
    return shellCode(this.lastExit);
  }

  private spawn(): void {
    this.clearTimer();
    this.spawnError = null;
    this.description = '';
    this.setState('STARTING');
    this.spawns++;
    this.startedAt = this.now();
    let child: StartedChild;
    try {
      child = this.deps.spawn(this.spec);
    } catch (err) {
      const e = err as Partial<SpawnFailure>;
      this.spawnError = { code: e.code ?? 'EUNKNOWN', message: e.message ?? String(err) };
      this.description = this.spawnError.message;
      this.deps.log(`spawnerr: ${this.name}: ${this.spawnError.message}`);
      this.startFailed();
      return;
    }
    this.pid = child.pid;
    this.lastPid = child.pid;
    this.pgid = child.pid;
    this.stdin = child.stdin;
    this.deps.log(`spawned: ${this.name} with pid ${child.pid}`);
    child.exited.then((status) => this.onExit(status));
    const startsecs = this.spec.program.startsecsMs;
    if (startsecs === 0) this.becomeRunning();
    else this.timer = setTimeout(() => this.becomeRunning(), startsecs);
  }

  private becomeRunning(): void {
    this.timer = undefined;
    if (this.state !== 'STARTING') return;
    this.startFailures = 0;
    this.setState('RUNNING');
    this.deps.log(`${this.name} entered RUNNING (pid ${this.pid})`);
  }

  private onExit(status: ExitStatus): void {
    const uptime = this.now() - this.startedAt;
    this.lastExit = status;
    this.stoppedAt = this.now();
    this.pid = 0;
    this.stdin?.destroy();
    this.stdin = undefined;
    if (!groupAlive(this.pgid)) this.pgid = 0; // nothing of it lingers
    this.clearTimer();
    const program = this.spec.program;
    const how = describeExit(status);
    if (uptime >= program.backoff.resetMs) this.failStreak = 0;

    if (this.state === 'STOPPING') {
      this.deps.log(`stopped: ${this.name} (${how})`);
      this.finishStopIfGroupGone();
      return;
    }
    if (this.state === 'STARTING') {
      this.deps.log(`exited: ${this.name} (${how}; not expected), too quickly (startsecs ${program.startsecsMs / 1000}s)`);
      this.description = 'Exited too quickly (process log may have details)';
      this.startFailed();
      return;
    }
    if (this.state !== 'RUNNING') return;

    const expected = isExpected(status, program.exitcodes);
    this.deps.log(`exited: ${this.name} (${how}; ${expected ? 'expected' : 'not expected'})`);
    this.description = expected ? '' : `Bad exit code ${shellCode(status)}`;
    this.setState('EXITED');
    const restart = program.autorestart === true || (program.autorestart === 'unexpected' && !expected);
    if (restart && this.deps.mayRestart()) {
      this.failStreak++;
      this.scheduleRetry();
      return;
    }
    this.deps.onEnded(this, shellCode(status), expected);
  }

  private startFailed(): void {
    this.startFailures++;
    this.failStreak++;
    this.pid = 0;
    if (this.startFailures > this.spec.program.startretries || !this.deps.mayRestart()) {
      this.setState('BACKOFF');
      this.startFailures = 0;
      this.setState('FATAL');
      this.deps.log(`gave up: ${this.name} entered FATAL state, too many start retries too quickly`);
      this.deps.onEnded(this, this.exitCode(), false);
      return;
    }
    this.setState('BACKOFF');
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.spec.program.backoff, this.failStreak, this.deps.random);
    this.deps.log(`${this.name} will restart in ${(delay / 1000).toFixed(1)}s (${this.state})`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.deps.mayRestart()) this.spawn();
    }, delay);
  }

  private sendStopSignal(): void {
    const program = this.spec.program;
    this.stopping = true;
    trySignal(program.stopasgroup ? -this.pid : this.pid, program.stopsignal);
    this.armKillTimer();
  }

  private armKillTimer(): void {
    if (this.killTimer) return;
    this.killTimer = setTimeout(() => {
      this.killTimer = undefined;
      this.kill();
    }, this.spec.program.stopwaitsecsMs);
  }

  private killTarget(): number {
    if (this.pid !== 0) return this.spec.program.killasgroup ? -this.pid : this.pid;
    if (this.pgid !== 0 && this.spec.program.killasgroup) return -this.pgid;
    return 0;
  }

  /** The stop is over once the leader is reaped and no member of its group is left. */
  private finishStopIfGroupGone(): void {
    if (this.pid !== 0) return;
    if (this.pgid !== 0 && this.spec.program.killasgroup && groupAlive(this.pgid)) {
      if (!this.stopping) {
        // Lingering members of an exited leader's group: stop them the same way.
        this.stopping = true;
        trySignal(-this.pgid, this.spec.program.stopsignal);
        this.armKillTimer();
      }
      this.groupTimer ??= setInterval(() => this.finishStopIfGroupGone(), GROUP_RECHECK_MS);
      return;
    }
    this.pgid = 0;
    this.stopping = false;
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.groupTimer) clearInterval(this.groupTimer);
    this.killTimer = this.groupTimer = undefined;
    if (this.state === 'STOPPING') this.setState('STOPPED');
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w();
  }

  private setState(to: ProcessState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.stateSince = this.now();
    this.deps.onTransition(this, from, to);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
