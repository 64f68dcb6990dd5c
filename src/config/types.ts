// The resolved, validated configuration. Everything downstream of src/config reads these types
// only; raw YAML never leaves src/config. Durations are milliseconds, sizes are bytes.

export type ExitPolicy = 'critical' | 'any' | 'all';
export type AutoRestart = true | false | 'unexpected';
/** SPEC §10: init programs run one by one before any main one starts; finish ones after all stopped. */
export type Stage = 'init' | 'main' | 'finish';
export type HookName = 'pre_start' | 'post_start' | 'pre_stop' | 'post_stop';
/** ringmaster's own lines at or above `settings.log_level` are written (SPEC §3). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A hook's command: split like `command` (and run with /bin/sh -c when the program has `shell: true`). */
export interface HookCommand {
  argv: string[];
  text: string;
}

export type ProgramHooks = Partial<Record<HookName, HookCommand>>;

/** Where a value came from, for messages like `FILE:LINE:COL: programs.web.command: …`. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** After staying up this long, the next restart delay is back to `initialMs`. */
  resetMs: number;
}

export interface Settings {
  exitPolicy: ExitPolicy;
  shutdownTimeoutMs: number;
  logFormat: 'text' | 'json';
  logTimestamps: boolean;
  logColor: 'auto' | 'always' | 'never';
  socket: string;
  /** Signal names with the SIG prefix, e.g. 'SIGUSR1'. */
  forwardSignals: NodeJS.Signals[];
  /** Incoming signal -> the signal programs receive instead ('SIGTERM' -> 'SIGQUIT'). */
  signalRewrite: Partial<Record<NodeJS.Signals, NodeJS.Signals>>;
  logdir: string;
  /** Added to every program's environment (below env_file and the program's own). */
  environment: Record<string, string>;
  /** The TCP listener (`settings.http`), if any. */
  http?: { host: string; port: number };
  httpUsername?: string;
  /** Plain, or Supervisor's `{SHA}` + 40 hex digits of the password's SHA-1. */
  httpPassword?: string;
  /** `ready: notify` sockets as files in this directory; unset: abstract addresses (no file). */
  notifyDir?: string;
  /** Reload the config when one of its files changes (SPEC §11). */
  watchConfig: boolean;
  /** After a TERM: /readyz fails at once, the programs keep running this long, then the ordered stop. */
  shutdownDelayMs: number;
  logLevel: LogLevel;
}

/** A program stream's copy in a file (Supervisor's stdout_logfile and friends). */
export interface ProgramLogFile {
  /** A path, or 'AUTO' for `<logdir>/<process name>-<stream>.log`. */
  path: string;
  maxBytes: number;
  backups: number;
}

export interface ProgramConfig {
  /** The key under `programs:`. */
  name: string;
  /** argv, already split (string form split like a shell; `shell: true` gives ['/bin/sh', '-c', text]). */
  argv: string[];
  /** The command as written, for messages. */
  commandText: string;
  shell: boolean;
  directory?: string;
  /** settings.environment < env_file < program environment, already merged (program wins). */
  environment: Record<string, string>;
  /** As written (name or uid[:gid]); resolved at spawn time by src/supervisor. */
  user?: string;
  umask?: number;
  autostart: boolean;
  autorestart: AutoRestart;
  exitcodes: number[];
  startsecsMs: number;
  startretries: number;
  backoff: BackoffPolicy;
  stopsignal: NodeJS.Signals;
  stopwaitsecsMs: number;
  stopasgroup: boolean;
  killasgroup: boolean;
  priority: number;
  numprocs: number;
  numprocsStart: number;
  /** Supervisor template, e.g. '%(program_name)s_%(process_num)02d'. */
  processName: string;
  /** Its processes' names, expanded once by the config (config/process-name.ts), as `run` uses them. */
  processNames: string[];
  redirectStderr: boolean;
  disabled: boolean;
  critical: boolean;
  stdoutLogfile?: ProgramLogFile;
  stderrLogfile?: ProgramLogFile;
  /** Remove ANSI escape sequences from the log files (not from the console). */
  stripAnsi: boolean;
  /** PROCESS_LOG_STDOUT / _STDERR events for its output (Supervisor's <stream>_events_enabled). */
  stdoutEvents?: boolean;
  stderrEvents?: boolean;
  /** Capture mode (PROCESS_COMMUNICATION_*) when more than 0: at most this many bytes kept. */
  stdoutCaptureMaxBytes?: number;
  stderrCaptureMaxBytes?: number;
  /** Set for an `eventlisteners:` entry: its processes speak Supervisor's listener protocol. */
  eventListener?: EventListenerConfig;
  /** The group this program's processes belong to (its own name unless listed under `groups:`). */
  group: string;
  /** Programs that must reach a condition before this one is started (SPEC §2 depends_on). */
  dependsOn: Dependency[];
  healthcheck?: HealthCheckConfig;
  /** SPEC §10 `ready:`: STARTING until the program itself says it is ready. */
  ready?: ReadyConfig;
  /** `schedule:`: a job run at its times, never autostarted otherwise nor restarted (SPEC §11). */
  schedule?: ScheduleConfig;
  /** `watch:`: paths whose change restarts or signals the program (SPEC §11). */
  watch?: WatchConfig;
  stage: Stage;
  hooks: ProgramHooks;
  /** Each hook's bound; then its process group is killed. */
  hookTimeoutMs: number;
  /** A listening socket ringmaster keeps open for the program's processes (SPEC §9). */
  socket?: ProgramSocket;
  /** The command daemonizes: the pid in this file is supervised as the program (SPEC §9). */
  pidfile?: string;
  /** SPEC §10 `memory_limit`: the most resident memory its process group may hold, in bytes. */
  memoryLimit?: number;
  source: SourcePos;
}

/** How a program tells it is ready: sd_notify, s6's notification fd, or a file it creates. */
export type ReadyMethod = { kind: 'notify' } | { kind: 'fd'; fd: number } | { kind: 'file'; path: string };

export interface ReadyConfig {
  method: ReadyMethod;
  /** Killed (a failed start) when not ready this long after the spawn; no bound when absent. */
  timeoutMs?: number;
  /** Restarted when no WATCHDOG=1 came for this long (notify only). */
  watchdogMs?: number;
}
/** `socket:` with its `socket_*` keys, resolved. */
export type ProgramSocket = ({ kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string }) & {
  /** As written, for messages. */
  url: string;
  /** A unix socket's mode (default 0700). */
  mode: number;
  /** A unix socket's owner (`socket_owner`), resolved when the config is read. */
  owner?: { spec: string; uid: number; gid: number };
  /** listen(2)'s backlog; the system's SOMAXCONN when not given. */
  backlog?: number;
  /** Where each process gets it: 3 (LISTEN_FDS, systemd's way) or 0 (Supervisor's fcgi-program). */
  fd: 0 | 3;
};

/** When a scheduled job runs (src/cron.ts computes the times). */
export interface ScheduleSpec {
  kind: 'cron' | 'every' | 'reboot';
  /** As written, e.g. `0 3 * * *`, `@daily`, `@every 90s`. */
  text: string;
  /** IANA zone the cron fields are read in. */
  timezone: string;
  everyMs?: number;
}

/** forbid: a run still going skips the next; allow: the next waits for it and runs right after; replace: it is stopped. */
export type Overlap = 'forbid' | 'allow' | 'replace';

export interface ScheduleConfig extends ScheduleSpec {
  overlap: Overlap;
}

export interface WatchConfig {
  /** Absolute paths (files or directories). */
  paths: string[];
  /** What a change does: restart the program, or send it a signal. */
  action: { kind: 'restart' } | { kind: 'signal'; signal: NodeJS.Signals };
  debounceMs: number;
}

/**
 * started: the dependency is RUNNING (it stayed up `startsecs`); healthy: RUNNING and its
 * healthcheck passes; completed: it exited with one of its `exitcodes` and is not restarted.
 */
export type DependencyCondition = 'started' | 'healthy' | 'completed';

export interface Dependency {
  /** A program name (every process of it must meet the condition). */
  program: string;
  condition: DependencyCondition;
  source: SourcePos;
}

/** What a healthcheck probes; exactly one kind per program. */
export type HealthProbe =
  | { kind: 'exec'; argv: string[]; text: string }
  | { kind: 'http'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'log'; pattern: string };

export interface HealthCheckConfig {
  probe: HealthProbe;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before unhealthy. */
  retries: number;
  /** Failures during this time after a start do not count. */
  startPeriodMs: number;
  /** Restart the program when it turns unhealthy after having passed. */
  liveness: boolean;
  source: SourcePos;
}

export interface EventListenerConfig {
  /** Event type names, upper case (abstract ones stand for their subtypes). */
  events: string[];
  bufferSize: number;
}

export interface GroupConfig {
  name: string;
  programs: string[];
  source: SourcePos;
}

export interface Config {
  settings: Settings;
  /** Sorted by (priority, name). */
  programs: ProgramConfig[];
  groups: GroupConfig[];
  /** Every file read, in order ('<RINGMASTER_CONFIG_YAML>' for the inline form). */
  files: string[];
  /** Reported, not fatal: e.g. supervisord.conf options with no meaning in a container. */
  warnings?: ConfigProblem[];
  /** Values read from `${file:PATH}` and RINGMASTER_<SETTING>_FILE: never shown (config/secrets.ts redactor). */
  secrets?: string[];
}

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, e.g. 'programs.web.autorestart'. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? p.path + ': ' : ''}${p.message}`;
}
