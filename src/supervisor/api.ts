// The one door into the supervisor (types only). Every front end (ctl, the JSON API, XML-RPC,
// readiness, /metrics, Supervisor's event listeners) holds a SupervisorApi and nothing else of
// the supervisor: local-api.ts implements it over the running Supervisor, control/client.ts over
// the control socket. Failures are SupervisorErrors from src/errors.ts.
import type { ErrorCode } from '../errors';
import type { HealthStatus, HealthState, ProcessSnapshot, ProcessSpec, ProcessState, StreamName, SupervisorEvent } from '../types';

export type { ProcessSnapshot, StreamName };

/** What happened to one process of a start, stop, restart or signal. */
export interface Outcome {
  name: string;
  group: string;
  namespec: string;
  ok: boolean;
  /** What was done, in supervisorctl's words: 'started', 'stopped', 'signalled'. */
  action?: string;
  /** Why not, when !ok. */
  error?: { code: ErrorCode; message: string; detail?: string; target?: string };
}

/**
 * The answer to a verb on a name. A name is supervisorctl's: `all`, `group:*` (or `group:`),
 * `group:name`, a process name, or a group name. `single` is true when it named one process:
 * then `outcomes` has that process's result, failure included. For a group, the processes the
 * verb does not apply to are skipped (start skips those up, stop those already down), as in
 * Supervisor's group calls; the failures of the others are in `outcomes`.
 */
export interface Results {
  single: boolean;
  outcomes: Outcome[];
}

export interface SupervisorStatus {
  state: 'RUNNING' | 'SHUTDOWN';
  pid: number;
  /** Changes with every state change, addition or removal: equal versions, equal answers. */
  version: number;
}

/** One program of the config last read (Supervisor's getAllConfigInfo, `ctl avail`). */
export interface ProgramInfo {
  name: string;
  group: string;
  /** Whether processes of it run now. */
  inUse: boolean;
  autostart: boolean;
  priority: number;
  numprocs: number;
  processes: string[];
  command: string;
  directory: string | null;
  user: string | null;
  exitcodes: number[];
  killasgroup: boolean;
  redirectStderr: boolean;
  startretries: number;
  startsecs: number;
  stopsignal: string;
  stopwaitsecs: number;
  stdoutLogfile: { path: string; maxBytes: number; backups: number } | null;
  stderrLogfile: { path: string; maxBytes: number; backups: number } | null;
}

export interface ReloadResult {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * Which bytes of a log: `last` bytes from the end, or [from, to) of everything ever written
 * (Supervisor's offsets: the beginning may have been cut away).
 */
export type LogRange = { last: number } | { from: number; to?: number };

export interface LogSlice {
  data: Buffer;
  /** Bytes ever written to it (since the last clear). */
  total: number;
}

/** What a subscriber receives: the snapshot first (one per process), then what happens. */
export type ApiEvent =
  | { type: 'snapshot'; process: ProcessSnapshot }
  | { type: 'state'; process: ProcessSnapshot; from: ProcessState; to: ProcessState }
  | { type: 'health'; spec: Pick<ProcessSpec, 'name' | 'group' | 'namespec'>; from: HealthStatus; to: HealthStatus; state: HealthState }
  | { type: 'supervisor'; event: SupervisorEvent };

export interface SupervisorApi {
  status(): Promise<SupervisorStatus>;
  /** Every process in start order; with `usage`, CPU and memory of the running ones. */
  list(opts?: { usage?: boolean }): Promise<Array<ProcessSnapshot & { usage?: ProcessUsage | null }>>;
  /** One process by namespec or process name (BAD_NAME). */
  get(name: string): Promise<ProcessSnapshot>;
  /** Every program of the config last read. */
  programs(): Promise<ProgramInfo[]>;

  /** Start now (also a restart that waits for its delay, with fresh retries); `wait` for RUNNING. */
  start(name: string, opts?: { wait?: boolean }): Promise<Results>;
  /** Stop and, with `wait` (the default), resolve once the whole process group is gone. */
  stop(name: string, opts?: { wait?: boolean }): Promise<Results>;
  /** Stop (those running) then start: the stop outcomes, then the start outcomes. */
  restart(name: string): Promise<Results>;
  /** Send a signal (a name, `HUP`, or a number) to the process group of each running process. */
  signal(name: string, signal: string | number): Promise<Results>;
  sendStdin(name: string, data: Buffer): Promise<void>;

  /** A process's output stream, or with `name` null ringmaster's own lines. */
  readLog(name: string | null, stream: StreamName, range: LogRange): Promise<LogSlice>;
  /** The last `back` bytes, then every new chunk, until `signal` aborts. */
  followLog(name: string | null, stream: StreamName, back: number, onChunk: (chunk: Buffer) => void, signal: AbortSignal): Promise<void>;
  clearLog(name: string | null): Promise<void>;

  /**
   * Re-read the config and apply what changed (CANT_REREAD with its problems; nothing changes
   * then). With `wait: false` it answers once the config was read, and applies it meanwhile.
   */
  reload(opts?: { wait?: boolean }): Promise<ReloadResult>;
  /** Re-read the config and only remember it (Supervisor's reloadConfig): per group, what differs. */
  reread(): Promise<ReloadResult>;
  addGroup(name: string): Promise<void>;
  removeGroup(name: string): Promise<void>;
  sendRemoteEvent(type: string, data: string): Promise<void>;
  shutdown(): Promise<void>;

  /** Every process's snapshot, then the live events, with nothing lost between; returns the unsubscribe. */
  subscribe(listener: (event: ApiEvent) => void): () => void;
}

export interface ProcessUsage {
  cpuPercent: number;
  cpuSeconds: number;
  memoryBytes: number;
}
