import { groupAlive, trySignal } from '../signal-util';
import type { HookName, ReadyConfig } from '../config/types';
import type { KillCause, Log, LogLevel, ProcessSpec, ReadySource, StopCause, StopRecord } from '../types';
import { backoffDelay } from './backoff';
import { describeExit, describeOomExit, exitCodeOf, isExpected, shellCode, type ExitStatus } from '../exit-status';
import { ReadyWait } from './ready-wait';
import { assertMove, type ProcessState } from './states';

/** Spawn errors that say ringmaster ran out of something (fds, processes, memory), not the program. */
const RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

export type { ProcessSpec };

/** What the state machine needs of a started child; the real one is made by cli/launch.ts. */
export interface StartedChild {
  pid: number;
  exited: Promise<ExitStatus>;
  /** The write end of its stdin pipe (Supervisor's sendProcessStdin), if it has one. */
  stdin?: {
    write(data: Buffer, done: (err?: Error | null) => void): void;
    destroy(): void;
    readonly destroyed: boolean;
    /** Bytes written but not yet taken by the child. */
    readonly queued: number;
  };
  /** Its `ready:` channel (sd_notify socket, notification fd, file), for a program with one. */
  readiness?: ReadySource;
}

export type StdinResult = 'ok' | 'NOT_RUNNING' | 'STDIN_CLOSED' | 'STDIN_FULL';

/** A child that does not read its stdin gets no more than this queued for it (issue #12: 510 MB held). */
export const MAX_STDIN_QUEUED = 1024 * 1024;
const STDIN_PATIENCE_MS = 200;

export interface SpawnFailure {
  /** errno name, e.g. 'ENOENT' */
  code: string;
  message: string;
}

/**
 * The OOM-kill count of the cgroup the programs run in (pid1/oom.ts). `claim` says whether it rose
 * since `since` and since the last claim: each kernel OOM kill is given to one SIGKILLed process.
 */
export interface OomWitness {
  count(): number;
  claim(since: number): boolean;
}

const SIGKILL = 9;

/** The daemon a `pidfile:` program's command left behind (found by cli/daemon.ts). */
export interface FoundDaemon {
  pid: number;
  pgid: number;
  exited: Promise<ExitStatus>;
  release(): void;
}

export interface ProcessDeps {
  /** Start the child for this spec, or throw a SpawnFailure-shaped error. */
  spawn(spec: ProcessSpec): StartedChild;
  /** For a `pidfile:` program whose command exited as expected: its daemon, or why none was found. */
  findDaemon?(spec: ProcessSpec, since: number, waitMs: number): Promise<FoundDaemon | { failure: string }>;
  /** A ringmaster message line. */
  log: Log;
  /**
   * Run one of the program's hooks (SPEC §10), bounded by `timeoutMs` and `signal`: resolves
   * with 0 when it succeeded, else the code it failed with. Absent: hooks are not run.
   */
  runHook?(spec: ProcessSpec, hook: HookName, timeoutMs: number, signal: AbortSignal): Promise<number>;
  /** Every state change, after it happened. */
  onTransition(p: SupervisedProcess, from: ProcessState, to: ProcessState): void;
  /** The process ended for good: exited and will not be restarted, or FATAL. */
  onEnded(p: SupervisedProcess, code: number, expected: boolean): void;
  /** False while ringmaster shuts down: no restarts then. */
  mayRestart(): boolean;
  /** Where there is a memory cgroup to ask: which SIGKILLs were the kernel's OOM killer. */
  oom?: OomWitness;
  now?: () => number;
  random?: () => number;
}

/**
 * What a process is doing besides its Supervisor state: waiting for its depends_on (STOPPED), a
 * restart pending until `at` (BACKOFF, EXITED), or the members of an exited leader's process
 * group being stopped (`draining`).
 */
export type SubState =
  | { kind: 'none' }
  | { kind: 'waiting'; reason: string }
  | { kind: 'restart'; at: number }
  | { kind: 'draining' };

const NONE: SubState = { kind: 'none' };

/** How often a stop re-checks a process group whose members are not our children (rare). */
const GROUP_RECHECK_MS = 250;

/**
 * Supervisor's state machine for one process (supervisor/process.py), with ringmaster's fixes:
 * exits are handled the moment they are reaped, every restart waits a jittered exponential
 * backoff, a stop is done only when the whole process group is gone, and every stop and kill
 * records why. States move only through the table in states.ts.
 */
export class SupervisedProcess {
  state: ProcessState = 'STOPPED';
  sub: SubState = NONE;
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
  /** The stop of the current or last run, and why it was killed if it was. */
  stopRecord: StopRecord | null = null;
  startedAt = 0;
  /** When the last child ended (Supervisor's laststop), 0 if none did. */
  stoppedAt = 0;
  stateSince: number;
  /** The last exit was the OOM killer's SIGKILL. */
  oomKilled = false;
  oomKills = 0;
  /** Restarts for exceeding memory_limit (the supervisor counts them). */
  memoryRestarts = 0;

  private oomBase = 0;
  private startFailures = 0;
  private failStreak = 0;
  private timer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private groupTimer: NodeJS.Timeout | undefined;
  private stopWaiters: Array<() => void> = [];
  private stdin: StartedChild['stdin'];
  private readyWait: ReadyWait | undefined;
  /** The child that was spawned, while it runs: `pid` differs from it once a MAINPID is followed. */
  private leader = 0;
  /** sd_notify's MAINPID of this run (0: none). */
  private mainPid = 0;
  /** A `pidfile:` program between its command's exit and the daemon being found. */
  private adopting = false;
  /** Whether `pid` leads its process group (a daemon may not): group signals only then. */
  private leads = true;
  private readonly now: () => number;
  /** Aborts the hooks of this process that are running (a kill, a stop during pre_start). */
  private hookAbort: AbortController | undefined;
  /** Counts starts, so a pre_start that ends after a stop or a newer start is ignored. */
  private attempt = 0;
  /** The code of the pre_start hook that failed this start (the FATAL code), else null. */
  private preStartCode: number | null = null;

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
      this.state === 'STOPPING' || this.sub.kind === 'restart';
  }

  /** A stop is under way: the leader's, or the lingering members' of its group. */
  get stopping(): boolean {
    return this.state === 'STOPPING' || this.sub.kind === 'draining';
  }

  /** Consecutive failed starts so far (Supervisor's backoff count, `tries:` in events). */
  get tries(): number {
    return this.startFailures;
  }

  get restarts(): number {
    return Math.max(0, this.spawns - 1);
  }

  /**
   * Start by request (autostart, ctl): at once, even when a restart waits for its delay, with a
   * fresh count of retries (unlike Supervisor, #9 there). No-op while up or on its way down.
   */
  start(): void {
    if (this.state === 'STARTING' || this.state === 'RUNNING' || this.state === 'STOPPING') return;
    this.startFailures = 0;
    this.failStreak = 0;
    this.spawn();
  }

  /** Wait for depends_on before an autostart (the dependency gate decides when). */
  waitForDependencies(reason: string): void {
    if (this.state === 'STOPPED' || this.state === 'EXITED' || this.state === 'FATAL') this.sub = { kind: 'waiting', reason };
  }

  /** No longer wait for depends_on; true if it waited. */
  stopWaiting(): boolean {
    if (this.sub.kind !== 'waiting') return false;
    this.sub = NONE;
    return true;
  }

  /** Resolves when the process and its whole process group are gone. */
  stop(cause: StopCause = 'stop'): Promise<void> {
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    const pending = this.sub.kind === 'restart';
    this.stopWaiting();
    this.clearTimer();
    switch (this.state) {
      case 'STARTING':
      case 'RUNNING':
        this.stopRecord = { cause, signal: this.spec.program.stopsignal, killed: null };
        this.setState('STOPPING');
        if (this.adopting) {
          // While the pid file is read there is no one to signal yet: the daemon found is stopped.
        } else if (this.pid === 0) {
          // Its pre_start hook runs and no child exists yet: the hook is killed, nothing else to
          // stop, and no pre_stop or post_stop (they bracket a program that ran).
          this.attempt++;
          this.abortHooks();
          this.setState('STOPPED');
          this.resolveStop();
        } else this.beginStop();
        break;
      case 'STOPPING':
        break;
      case 'BACKOFF':
        this.setState('STOPPED');
        this.finishStopIfGroupGone();
        break;
      case 'EXITED':
        // A pending restart is cancelled; lingering members of the exited leader's group are stopped.
        if (pending) this.setState('STOPPED');
        this.finishStopIfGroupGone();
        break;
      default:
        this.finishStopIfGroupGone();
    }
    return done;
  }

  /** SIGKILL now, to the group when killasgroup (stopwaitsecs, the shutdown deadline, a second signal). */
  kill(cause: KillCause, limit?: string): void {
    this.abortHooks();
    const target = this.killTarget();
    if (target === 0) return;
    this.stopRecord = { ...(this.stopRecord ?? { cause: 'stop', signal: this.spec.program.stopsignal }), killed: cause, limit };
    this.deps.log(`killing ${this.name} (pid ${this.pid || this.pgid}) with SIGKILL: ${killText(cause, limit)}`, KILL_LEVEL[cause]);
    trySignal(target, 'SIGKILL');
  }

  /** Send a signal to the running process: to its group when stopasgroup (the default). */
  signal(sig: NodeJS.Signals): boolean {
    if (this.pid === 0) return false;
    return trySignal(this.spec.program.stopasgroup && this.leads ? -this.pid : this.pid, sig);
  }

  /**
   * Queue data for the running child's stdin. The answer comes when the pipe took it (a closed
   * stdin shows at once, as EPIPE), or after STDIN_PATIENCE_MS of a child that is not reading
   * now: the data then waits in our queue, as in Supervisor. Refused while more than
   * MAX_STDIN_QUEUED bytes wait for the child.
   */
  writeStdin(data: Buffer): Promise<StdinResult> {
    const stdin = this.stdin;
    if (this.pid === 0 || this.stopping) return Promise.resolve('NOT_RUNNING');
    if (!stdin || stdin.destroyed) return Promise.resolve('STDIN_CLOSED');
    if (stdin.queued > MAX_STDIN_QUEUED) return Promise.resolve('STDIN_FULL');
    return new Promise((resolve) => {
      const patience = setTimeout(() => resolve('ok'), STDIN_PATIENCE_MS);
      stdin.write(data, (err) => {
        clearTimeout(patience);
        resolve(err ? 'STDIN_CLOSED' : 'ok');
      });
    });
  }

  /** Called after any reap that may have emptied this process's group. */
  checkGroup(): void {
    if (this.stopping && this.pid === 0) this.finishStopIfGroupGone();
  }

  /** The code this process gives the container when it ends for good (SPEC §5). */
  exitCode(): number {
    if (this.state === 'FATAL' && this.preStartCode !== null) return this.preStartCode;
    return exitCodeOf(this.state, this.lastExit, this.spawnError?.code ?? null);
  }

  private spawn(): void {
    this.clearTimer();
    this.sub = NONE;
    this.spawnError = null;
    this.description = '';
    this.stopRecord = null;
    this.preStartCode = null;
    this.oomKilled = false;
    this.oomBase = this.deps.oom?.count() ?? 0;
    this.setState('STARTING');
    this.spawns++;
    this.startedAt = this.now();
    if (this.hasHook('pre_start')) {
      // A failing pre_start is a failed start: it counts against startretries and backs off.
      const attempt = ++this.attempt;
      void this.hook('pre_start').then((code) => {
        if (attempt !== this.attempt || this.state !== 'STARTING') return;
        if (code === 0) return this.spawnChild();
        this.preStartCode = code;
        this.description = `pre_start hook failed (exit code ${code})`;
        this.startFailed();
      });
      return;
    }
    this.spawnChild();
  }

  private spawnChild(): void {
    let child: StartedChild;
    try {
      child = this.deps.spawn(this.spec);
    } catch (err) {
      const e = err as Partial<SpawnFailure> & { fatal?: boolean };
      this.spawnError = { code: e.code ?? 'EUNKNOWN', message: e.message ?? String(err) };
      this.description = this.spawnError.message;
      // Retries cannot fix it (a socket that cannot be made): FATAL at once, with the reason.
      if (e.fatal) this.startFailures = this.spec.program.startretries;
      if (RESOURCE_ERRORS.has(this.spawnError.code)) {
        // Ringmaster itself is out of fds or processes: not the program's failure (issue #12, 5:
        // idle connections made a restarting program go FATAL for good). Retried after the
        // backoff delay, without counting against startretries.
        this.deps.log(`spawnerr: ${this.name}: ${this.spawnError.message} (ringmaster's own limit, not counted against startretries)`, 'warn');
        this.failStreak++;
        this.pid = 0;
        this.setState('BACKOFF');
        this.scheduleRetry();
        return;
      }
      this.deps.log(`spawnerr: ${this.name}: ${this.spawnError.message}`, 'warn');
      this.startFailed();
      return;
    }
    this.pid = child.pid;
    this.lastPid = child.pid;
    this.pgid = child.pid;
    this.leader = child.pid;
    this.mainPid = 0;
    this.leads = true;
    this.stdin = child.stdin;
    this.deps.log(`spawned: ${this.name} with pid ${child.pid}`);
    const daemonizes = this.spec.program.pidfile !== undefined && this.deps.findDaemon !== undefined;
    child.exited.then((status) => (daemonizes ? this.onLauncherExit(status) : this.onLeaderExit(status)));
    const ready = this.spec.program.ready;
    if (ready) this.waitUntilReady(ready, child.readiness);
    // A daemonizing command's startsecs count from when its daemon is found.
    else if (!daemonizes) this.awaitStartsecs();
  }

  private awaitStartsecs(): void {
    const startsecs = this.spec.program.startsecsMs;
    if (startsecs === 0) this.becomeRunning();
    else this.timer = setTimeout(() => this.becomeRunning(), startsecs);
  }

  /** SPEC §10: STARTING until the program says it is ready; startsecs does not apply. */
  private waitUntilReady(config: ReadyConfig, source: ReadySource | undefined): void {
    this.description = ReadyWait.waitingFor(config);
    this.readyWait = new ReadyWait(config, source, {
      ready: (how) => {
        if (this.state !== 'STARTING') return;
        if (this.description === ReadyWait.waitingFor(config)) this.description = '';
        this.deps.log(`${this.name} is ready (${how})`);
        this.becomeRunning();
      },
      // STATUS= is the description while it runs: ctl status, the APIs and /readyz show it.
      status: (text) => {
        if (this.pid !== 0 && !this.stopping) this.description = text;
      },
      mainPid: (pid) => {
        if (this.pid === 0 || this.stopping || pid === this.pid) return;
        this.deps.log(`${this.name}: main pid is now ${pid} (MAINPID)`);
        this.mainPid = pid;
        this.pid = this.lastPid = pid;
        // Not its group's leader: signals go to it alone; the rest of the group gets the stop
        // signal once it has ended, as lingering members do.
        this.leads = false;
      },
      timedOut: (limit) => {
        if (this.state !== 'STARTING' || this.pid === 0) return;
        this.deps.log(`${this.name} was not ready within ready_timeout ${limit}: killing it (a failed start)`, 'warn');
        this.stopRecord = { cause: 'ready_timeout', signal: 'SIGKILL', killed: 'ready_timeout', limit };
        trySignal(this.spec.program.killasgroup ? -this.pgid : this.pid, 'SIGKILL');
      },
      watchdogMissed: (limit) => {
        if (this.state !== 'RUNNING' || !this.deps.mayRestart()) return;
        this.deps.log(`${this.name} sent no WATCHDOG=1 for ${limit} (watchdog): restarting`, 'warn');
        void this.stop('watchdog').then(() => {
          if (this.state === 'STOPPED' && this.deps.mayRestart()) this.start();
        });
      },
    });
  }

  /**
   * The spawned child ended. With a MAINPID other than it still alive, that process is the
   * program now (it was re-parented to ringmaster, the subreaper): its end comes through
   * `adoptedExit`. Else this is the process's end.
   */
  private onLeaderExit(status: ExitStatus): void {
    this.leader = 0;
    if (this.mainPid !== 0 && this.pid === this.mainPid && !this.stopping && trySignal(this.mainPid, 0)) {
      this.deps.log(`${this.name}: spawned pid ${this.pgid} ended (${describeExit(status)}); following its MAINPID ${this.mainPid}`);
      return;
    }
    this.onExit(status);
  }

  /** A pid ringmaster reaped as an orphan: the end of this process when it is the followed MAINPID. */
  adoptedExit(pid: number, status: ExitStatus): void {
    if (pid !== 0 && pid === this.mainPid && this.pid === pid && this.leader === 0) this.onExit(status);
  }

  /** A `pidfile:` program's command ended: if as expected, the daemon it left becomes the process. */
  private onLauncherExit(status: ExitStatus): void {
    const program = this.spec.program;
    if (this.state !== 'STARTING' || !isExpected(status, program.exitcodes)) return this.onExit(status);
    this.pid = 0;
    this.stdin?.destroy();
    this.stdin = undefined;
    if (!groupAlive(this.pgid)) this.pgid = 0;
    this.adopting = true;
    const run = this.spawns;
    this.deps.log(`${this.name}: command exited (${describeExit(status)}), reading pidfile ${program.pidfile}`);
    void this.deps.findDaemon!(this.spec, this.startedAt, program.startsecsMs).then((found) => this.onDaemonFound(found, status, run));
  }

  private onDaemonFound(found: FoundDaemon | { failure: string }, launcher: ExitStatus, run: number): void {
    this.adopting = false;
    if (run !== this.spawns) {
      if ('pid' in found) found.release();
      return;
    }
    if (!('pid' in found)) {
      this.lastExit = launcher;
      this.stoppedAt = this.now();
      if (this.state === 'STOPPING') return this.finishStopIfGroupGone();
      this.deps.log(`${this.name}: ${found.failure}`, 'warn');
      this.description = found.failure;
      this.startFailed();
      return;
    }
    this.pid = this.lastPid = found.pid;
    this.pgid = found.pgid;
    this.leads = found.pgid === found.pid;
    found.exited.then((status) => this.onExit(status));
    this.deps.log(`${this.name}: daemon pid ${found.pid} from ${this.spec.program.pidfile}${this.leads ? '' : ' (signalled alone: it does not lead a process group)'}`);
    if (this.state === 'STOPPING') this.beginStop(); // a stop came while the file was read
    else this.awaitStartsecs();
  }

  private becomeRunning(): void {
    this.timer = undefined;
    if (this.state !== 'STARTING') return;
    this.startFailures = 0;
    this.setState('RUNNING');
    this.deps.log(`${this.name} entered RUNNING (pid ${this.pid})`);
    void this.hook('post_start');
  }

  private hasHook(name: HookName): boolean {
    return this.deps.runHook !== undefined && this.spec.program.hooks[name] !== undefined;
  }

  /** Run a hook of this process (0 at once when it has none), bounded by hook_timeout and `limitMs`. */
  private hook(name: HookName, limitMs = Infinity): Promise<number> {
    if (!this.hasHook(name)) return Promise.resolve(0);
    this.hookAbort ??= new AbortController();
    return this.deps.runHook!(this.spec, name, Math.min(limitMs, this.spec.program.hookTimeoutMs), this.hookAbort.signal);
  }

  private abortHooks(): void {
    this.hookAbort?.abort();
    this.hookAbort = undefined;
  }

  private onExit(status: ExitStatus): void {
    const uptime = this.now() - this.startedAt;
    this.lastExit = status;
    this.stoppedAt = this.now();
    this.pid = 0;
    this.mainPid = 0;
    if (this.readyWait) {
      // What it waited for, or its STATUS=, described the run that just ended.
      this.readyWait.close();
      this.readyWait = undefined;
      this.description = '';
    }
    this.stdin?.destroy();
    this.stdin = undefined;
    if (!groupAlive(this.pgid)) this.pgid = 0; // nothing of it lingers
    this.clearTimer();
    const program = this.spec.program;
    // A SIGKILL we did not send, while the cgroup's OOM-kill count rose: the kernel's OOM killer.
    // A shell's 137 too: `sh -c 'server; cleanup'` exits 128+9 when its server was the victim.
    const killed = status.signal === SIGKILL || status.code === 128 + SIGKILL;
    if (killed && !this.stopRecord?.killed && this.deps.oom?.claim(this.oomBase)) {
      this.oomKilled = true;
      this.oomKills++;
    }
    const how = this.oomKilled ? describeOomExit(status) : describeExit(status);
    if (uptime >= program.backoff.resetMs) this.failStreak = 0;

    if (this.state === 'STOPPING') {
      const r = this.stopRecord;
      this.deps.log(`stopped: ${this.name} (${how}${r ? `; ${r.killed ? `${killText(r.killed, r.limit)}, ` : ''}by ${CAUSE_TEXT[r.cause]}` : ''})`);
      this.finishStopIfGroupGone();
      return;
    }
    if (this.state === 'STARTING') {
      const r = this.stopRecord;
      if (r?.killed === 'ready_timeout') {
        this.deps.log(`exited: ${this.name} (${how}; not ready within ready_timeout ${r.limit})`);
        this.description = `Not ready within ready_timeout ${r.limit}`;
      } else if (program.ready) {
        this.deps.log(`exited: ${this.name} (${how}; not expected), before it was ready`);
        this.description = 'Exited before it was ready (process log may have details)';
      } else {
        this.deps.log(`exited: ${this.name} (${how}; not expected), too quickly (startsecs ${program.startsecsMs / 1000}s)`);
        this.description = this.oomKilled ? `Exited too quickly (${how})` : 'Exited too quickly (process log may have details)';
      }
      this.startFailed();
      return;
    }
    if (this.state !== 'RUNNING') return;

    const expected = isExpected(status, program.exitcodes);
    this.deps.log(`exited: ${this.name} (${how}; ${expected ? 'expected' : 'not expected'})`);
    this.description = expected ? '' : this.oomKilled ? `Bad exit code ${shellCode(status)} (${how})` : `Bad exit code ${shellCode(status)}`;
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
      this.deps.log(`gave up: ${this.name} entered FATAL state, too many start retries too quickly`, 'error');
      this.deps.onEnded(this, this.exitCode(), false);
      return;
    }
    this.setState('BACKOFF');
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.spec.program.backoff, this.failStreak, this.deps.random);
    this.deps.log(`${this.name} will restart in ${(delay / 1000).toFixed(1)}s (${this.state})`);
    this.sub = { kind: 'restart', at: this.now() + delay };
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sub = NONE;
      if (this.deps.mayRestart()) this.spawn();
    }, delay);
  }

  /** pre_stop first (its time counts in stopwaitsecs, so the kill timer is armed before it), then the stop signal. */
  private beginStop(): void {
    if (!this.hasHook('pre_stop')) return this.sendStopSignal();
    this.armKillTimer();
    const pid = this.pid;
    void this.hook('pre_stop', this.spec.program.stopwaitsecsMs).then(() => {
      if (this.state === 'STOPPING' && this.pid === pid) this.sendStopSignal();
    });
  }

  private sendStopSignal(): void {
    const program = this.spec.program;
    trySignal(program.stopasgroup && this.leads ? -this.pid : this.pid, program.stopsignal);
    this.armKillTimer();
  }

  private armKillTimer(): void {
    if (this.killTimer) return;
    const ms = this.spec.program.stopwaitsecsMs;
    this.killTimer = setTimeout(() => {
      this.killTimer = undefined;
      this.kill('stopwaitsecs', `${ms / 1000}s`);
    }, ms);
  }

  private killTarget(): number {
    if (this.pid !== 0) return this.spec.program.killasgroup && this.leads ? -this.pid : this.pid;
    if (this.pgid !== 0 && this.spec.program.killasgroup) return -this.pgid;
    return 0;
  }

  /** The stop is over once the leader is reaped and no member of its group is left. */
  private finishStopIfGroupGone(): void {
    // While a pid file is read the daemon may be about to be found: its stop waits for it.
    if (this.pid !== 0 || this.adopting) return;
    if (this.pgid !== 0 && this.spec.program.killasgroup && groupAlive(this.pgid)) {
      if (!this.stopping) {
        // Lingering members of an exited leader's group: stop them the same way.
        this.sub = { kind: 'draining' };
        trySignal(-this.pgid, this.spec.program.stopsignal);
        this.armKillTimer();
      }
      this.groupTimer ??= setInterval(() => this.finishStopIfGroupGone(), GROUP_RECHECK_MS);
      return;
    }
    this.pgid = 0;
    if (this.sub.kind === 'draining') this.sub = NONE;
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.groupTimer) clearInterval(this.groupTimer);
    this.killTimer = this.groupTimer = undefined;
    const stopped = this.state === 'STOPPING';
    if (stopped) this.setState('STOPPED');
    // post_stop at the end of every stop; the stop (and so a shutdown level) is done after it.
    if (stopped && this.hasHook('post_stop')) {
      const resolve = this.takeStopWaiters();
      void this.hook('post_stop').then(resolve);
    } else this.resolveStop();
  }

  private resolveStop(): void {
    this.takeStopWaiters()();
  }

  /** The stop's waiters so far, as one function that resolves them (later stops wait on their own). */
  private takeStopWaiters(): () => void {
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    return () => {
      for (const w of waiters) w();
    };
  }

  private setState(to: ProcessState): void {
    const from = this.state;
    if (from === to) return;
    assertMove(this.spec.namespec, from, to);
    this.state = to;
    this.stateSince = this.now();
    this.deps.onTransition(this, from, to);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sub.kind === 'restart') this.sub = NONE;
  }
}

/** A kill asked for (a second signal) is information; one forced by a limit a warning; the failsafe's an error. */
const KILL_LEVEL: Record<KillCause, LogLevel> = { stopwaitsecs: 'warn', shutdown_timeout: 'warn', 'second signal': 'info', failsafe: 'error', ready_timeout: 'warn' };

/** Who or what stopped it: `stopped by shutdown`. */
export const CAUSE_TEXT: Record<StopCause, string> = {
  stop: 'request',
  restart: 'restart request',
  reload: 'reload',
  shutdown: 'shutdown',
  liveness: 'failed liveness check',
  memory_limit: 'exceeding memory_limit',
  watchdog: 'watchdog (no WATCHDOG=1 in time)',
  ready_timeout: 'ready_timeout (not ready in time)',
  schedule: 'the next scheduled run (overlap: replace)',
};

function killText(cause: KillCause, limit?: string): string {
  switch (cause) {
    case 'stopwaitsecs':
      return `after stopwaitsecs${limit ? ` ${limit}` : ''}`;
    case 'shutdown_timeout':
      return `at shutdown_timeout${limit ? ` ${limit}` : ''}`;
    case 'second signal':
      return 'after a second signal';
    case 'failsafe':
      return 'by the failsafe';
    case 'ready_timeout':
      return `at ready_timeout${limit ? ` ${limit}` : ''}`;
  }
}

/** `killed by SIGKILL after stopwaitsecs 10s`, or null when the stop signal was enough. */
export function killedText(r: StopRecord): string | null {
  return r.killed ? `killed by SIGKILL ${killText(r.killed, r.limit)}` : null;
}

/** `killed by SIGKILL after stopwaitsecs 10s, stopped by shutdown`, or `stopped with SIGTERM by request`. */
export function stopText(r: StopRecord): string {
  const killed = killedText(r);
  return killed ? `${killed}, stopped by ${CAUSE_TEXT[r.cause]}` : `stopped with ${r.signal} by ${CAUSE_TEXT[r.cause]}`;
}
