// ringmaster's vocabulary: the names every module uses for processes, their states, their
// health and why they stopped. Data only; it imports nothing but the config's types.
import type { LogLevel, ProgramConfig, Stage } from './config/types';

export type { LogLevel };
/** How every module writes a line of ringmaster's own (`info` unless said; SPEC §3). */
export type Log = (text: string, level?: LogLevel) => void;

/** Supervisor's process states and their codes (supervisor/states.py), unchanged. */
export const STATE_CODES = {
  STOPPED: 0,
  STARTING: 10,
  RUNNING: 20,
  BACKOFF: 30,
  STOPPING: 40,
  EXITED: 100,
  FATAL: 200,
  UNKNOWN: 1000,
} as const;

export type ProcessState = keyof typeof STATE_CODES;

export type StreamName = 'stdout' | 'stderr';

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: number | null;
}

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

/** Docker's words: `starting` until the first pass (or `retries` failures after start_period). */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  status: HealthStatus;
  /** ms since the epoch of the last status change. */
  since: number;
  /** Consecutive failures that counted (outside start_period). */
  failures: number;
  /** Passed at least once since this run of the process began. */
  passedOnce: boolean;
  /** What the last probe saw. */
  output: string;
  /** Probes completed in this run. */
  checks: number;
}

/** Why a stop began: asked for, or decided by ringmaster. */
export type StopCause = 'stop' | 'restart' | 'reload' | 'shutdown' | 'liveness' | 'memory_limit' | 'schedule' | 'watchdog' | 'ready_timeout';
/** Why a stop turned into SIGKILL (ready_timeout: no stop signal first, the start has failed). */
export type KillCause = 'stopwaitsecs' | 'shutdown_timeout' | 'second signal' | 'failsafe' | 'ready_timeout';

/** What a program says about itself through its `ready:` method (SPEC §10). */
export type ReadyNotice =
  | { kind: 'ready' }
  | { kind: 'status'; text: string }
  | { kind: 'watchdog' }
  | { kind: 'mainpid'; pid: number }
  | { kind: 'stopping' };

/** A started child's readiness channel: notices arrive until close() (made by cli/launch.ts). */
export interface ReadySource {
  listen(onNotice: (notice: ReadyNotice) => void): void;
  close(): void;
}

/** The last stop of a process and, when it came to that, why it was SIGKILLed. */
export interface StopRecord {
  cause: StopCause;
  /** The signal the stop began with (the program's stopsignal). */
  signal: NodeJS.Signals;
  killed: KillCause | null;
  /** The limit that ran out, for the message: `stopwaitsecs 10s`, `shutdown_timeout 30s`. */
  limit?: string;
}

/**
 * One process as every front end sees it: serialisable (the JSON API sends it as is), taken at
 * one moment. Times are Unix seconds, as in Supervisor's API.
 */
export interface ProcessSnapshot {
  name: string;
  group: string;
  namespec: string;
  program: string;
  state: ProcessState;
  statecode: number;
  /** 0 when no child runs. */
  pid: number;
  /** The pid of the current or last child (0 if it never ran). */
  lastPid: number;
  /** Last start, 0 if never. */
  start: number;
  /** Last end of a child, 0 if none ended. */
  stop: number;
  /** When it entered its current state. */
  since: number;
  restarts: number;
  /** Consecutive failed starts (Supervisor's backoff count). */
  tries: number;
  /** The last exit as the container would report it (SPEC §5: 128+N, 126/127), null if none. */
  exitstatus: number | null;
  /** The last exit, raw. */
  exit: ExitStatus | null;
  /** Whether the last exit was one of `exitcodes` (never for a death by signal). */
  expected: boolean | null;
  spawnerr: string;
  /** Why it is in its state, in Supervisor's words ('Exited too quickly …', 'Bad exit code 3'). */
  description: string;
  /** A restart waiting for its delay (BACKOFF, or EXITED under autorestart): when it comes. */
  restartAt: number | null;
  /** Why it waits for its depends_on ('' when it does not). */
  waiting: string;
  /** The last stop and kill, and why (`text`: `killed by SIGKILL after stopwaitsecs 10s, stopped by shutdown`). */
  stopped: (StopRecord & { text: string }) | null;
  health: HealthState | null;
  /** SPEC §10: init programs run before the main ones, finish programs after they stopped. */
  stage: Stage;
  /** The last exit was a SIGKILL from the kernel's OOM killer (its cgroup's oom_kill count rose). */
  oomKilled: boolean;
  /** Times it was killed by the OOM killer, and restarted for exceeding its memory_limit. */
  oomKills: number;
  memoryRestarts: number;
  /** Started by ringmaster on its own (autostart and not disabled). */
  autostart: boolean;
  disabled: boolean;
  hasHealthcheck: boolean;
  listener: boolean;
  stdoutLogfile: string;
  stderrLogfile: string;
  /** For a program with `schedule:` (SPEC §11): its next and last run; null otherwise. */
  schedule: ScheduleState | null;
}

/** How a run of a scheduled job ended, for `ringmaster_schedule_runs_total{result}`. */
export type RunResult = 'success' | 'failure' | 'skipped';

/** A scheduled job between and during its runs. Times are Unix seconds, and RFC 3339 with the zone's offset. */
export interface ScheduleState {
  expression: string;
  timezone: string;
  overlap: 'forbid' | 'allow' | 'replace';
  /** The next run, null when none comes (@reboot after its run). */
  next: number | null;
  nextText: string | null;
  /** The last run that ended (or null before the first end). */
  last: { start: number; startText: string; exitstatus: number | null; result: RunResult } | null;
  runs: Record<RunResult, number>;
}

// Supervisor's event types (supervisor/events.py EventTypes): the concrete ones a listener
// receives, and the abstract ones it may subscribe to, which stand for all their subtypes.
const EVENT_PARENTS: Record<string, string | null> = {
  EVENT: null,
  PROCESS_STATE: 'EVENT',
  PROCESS_STATE_STOPPED: 'PROCESS_STATE',
  PROCESS_STATE_EXITED: 'PROCESS_STATE',
  PROCESS_STATE_STARTING: 'PROCESS_STATE',
  PROCESS_STATE_STOPPING: 'PROCESS_STATE',
  PROCESS_STATE_BACKOFF: 'PROCESS_STATE',
  PROCESS_STATE_FATAL: 'PROCESS_STATE',
  PROCESS_STATE_RUNNING: 'PROCESS_STATE',
  PROCESS_STATE_UNKNOWN: 'PROCESS_STATE',
  PROCESS_COMMUNICATION: 'EVENT',
  PROCESS_COMMUNICATION_STDOUT: 'PROCESS_COMMUNICATION',
  PROCESS_COMMUNICATION_STDERR: 'PROCESS_COMMUNICATION',
  PROCESS_LOG: 'EVENT',
  PROCESS_LOG_STDOUT: 'PROCESS_LOG',
  PROCESS_LOG_STDERR: 'PROCESS_LOG',
  REMOTE_COMMUNICATION: 'EVENT',
  SUPERVISOR_STATE_CHANGE: 'EVENT',
  SUPERVISOR_STATE_CHANGE_RUNNING: 'SUPERVISOR_STATE_CHANGE',
  SUPERVISOR_STATE_CHANGE_STOPPING: 'SUPERVISOR_STATE_CHANGE',
  TICK: 'EVENT',
  TICK_5: 'TICK',
  TICK_60: 'TICK',
  TICK_3600: 'TICK',
  PROCESS_GROUP: 'EVENT',
  PROCESS_GROUP_ADDED: 'PROCESS_GROUP',
  PROCESS_GROUP_REMOVED: 'PROCESS_GROUP',
};

/** Every name `events:` accepts. */
export const EVENT_TYPE_NAMES = Object.keys(EVENT_PARENTS);

/** Whether a listener subscribed to `subscribed` receives an event of type `name`. */
export function subscribes(subscribed: readonly string[], name: string): boolean {
  for (let t: string | null = name; t !== null; t = EVENT_PARENTS[t] ?? null) if (subscribed.includes(t)) return true;
  return false;
}

/** One of Supervisor's events, as published: typed fields for the JSON stream, Supervisor's text for listeners. */
export interface SupervisorEvent {
  name: string;
  /** The payload's `key:value` tokens, in Supervisor's order. */
  fields: Array<[string, string | number]>;
  /** What follows the token line after a "\n" (output data, captured text); absent for none. */
  data?: string;
  time: number;
  /** Set the first time a listener pool accepts the event (reference §4.2); null if none did. */
  serial: number | null;
  /** For PROCESS_STATE_*: the change itself, for the JSON stream. */
  change?: ProcessChange;
}

export interface ProcessChange {
  name: string;
  group: string;
  namespec: string;
  from: string;
  to: string;
  /** The pid now (0 once the process is gone). */
  pid: number;
  exitstatus: number | null;
  /** For STOPPED and EXITED after a stop: why it was stopped (and killed). */
  reason?: string;
}
