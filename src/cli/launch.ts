import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { LogFileConfig } from '../output/logfile';
import type { Output } from '../output/types';
import { resolveExecutable, spawnProcess, SpawnError, type ReadPipe, type SpawnedChild } from '../pid1/spawn';
import { resolveUser } from '../config/users';
import type { ProgramConfig } from '../config/types';
import type { StartedChild } from '../supervisor/process';
import type { ProcessSpec } from '../types';
import type { CheckChild } from '../health/probes';
import { prepareReady, type ReadyOptions, type ReadyPrep } from '../ready/sources';
import { socketSpawnOptions, type ProgramSockets } from './sockets';

export interface LaunchOptions {
  output: Output;
  /** Where `AUTO` log files go. */
  logdir?: string;
  /** SUPERVISOR_SERVER_URL for the programs, when a control server listens. */
  serverUrl?: string;
  baseEnv?: NodeJS.ProcessEnv;
  /** Supervisor's events: listener pipes and output chunks of programs with events enabled. */
  events?: LaunchEvents;
  /** For programs with `ready:` (the notify socket's directory, ringmaster's log). */
  ready?: ReadyOptions;
  /** The listening sockets of programs with `socket:`. */
  sockets?: ProgramSockets;
}

export interface LaunchEvents {
  attachListener(spec: ProcessSpec, stdin: Writable, stdout: Readable): void;
  output(spec: ProcessSpec, pid: number, stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /** Whether events read this stream (then the output gets a stream, not the pipe's fd). */
  readsStream(spec: ProcessSpec, stream: 'stdout' | 'stderr'): boolean;
  /** The stream to log instead of `source` when the program uses capture mode on it. */
  capture(spec: ProcessSpec, pid: number, stream: 'stdout' | 'stderr', source: Readable): Readable;
}

// process.env is a slow exotic object: copy it once, not once per spawn. ringmaster's own
// variables stay with ringmaster: RINGMASTER_HTTP_PASSWORD let a `user: nobody` program stop
// another, and RINGMASTER_CONFIG_YAML holds the whole config (issue #12, 4). A program that needs
// one sets it in its own `environment:`.
let inherited: Record<string, string> | undefined;
export function inheritedEnv(): Record<string, string> {
  if (!inherited) {
    inherited = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('RINGMASTER_')) inherited[k] = v;
  }
  return inherited;
}

/** The environment a program gets (SPEC §2): ringmaster's, Supervisor's vars, then its own. */
export function programEnv(spec: ProcessSpec, opts: LaunchOptions, user?: { name?: string; home?: string }): Record<string, string> {
  const env: Record<string, string> = { ...inheritedEnv() };
  if (opts.baseEnv) for (const [k, v] of Object.entries(opts.baseEnv)) if (v !== undefined) env[k] = v;
  env.SUPERVISOR_ENABLED = '1';
  env.SUPERVISOR_PROCESS_NAME = spec.name;
  env.SUPERVISOR_GROUP_NAME = spec.group;
  if (opts.serverUrl) env.SUPERVISOR_SERVER_URL = opts.serverUrl;
  // Unlike Supervisor, a program run as another user gets that user's HOME, USER and LOGNAME.
  if (user?.name) env.USER = env.LOGNAME = user.name;
  if (user?.home) env.HOME = user.home;
  Object.assign(env, spec.program.environment);
  return env;
}

/** Where and as whom a program's processes (and its health checks) run, in their own group. */
export function runsAs(program: ProgramConfig, user: ReturnType<typeof resolveUser> | undefined) {
  return { cwd: program.directory, uid: user?.uid, gid: user?.gid, groups: user?.groups, umask: program.umask, pgroup: 'pgroup' as const };
}

/** Start one process's child with its config and hand its pipes to the output. */
export function launch(spec: ProcessSpec, opts: LaunchOptions): StartedChild {
  const program = spec.program;
  const events = opts.events;
  // An event listener's stdin and stdout are the protocol channel (reference §4.1), not logged.
  const listener = program.eventListener !== undefined && events !== undefined;
  const user = program.user ? resolveUser(program.user) : undefined;
  const ready = program.ready ? prepareReady(spec.name, program.ready, opts.ready ?? { warn: () => {} }) : undefined;
  const socket = program.socket && opts.sockets ? socketSpawnOptions(program, opts.sockets) : undefined;
  const env = programEnv(spec, opts, user);
  if (socket) Object.assign(env, socket.env);
  if (ready) Object.assign(env, ready.env);
  const child = spawnReady(ready, {
    argv: program.argv,
    env,
    readyFd: ready?.readyFd,
    ...runsAs(program, user),
    listenFd: socket?.listenFd,
    listenAt: socket?.listenAt,
    // A pipe, as in Supervisor: sendProcessStdin writes to it, and a program reading its stdin
    // waits instead of seeing end-of-file at once. A listener's is the protocol channel. With
    // `socket_fd: 0` the socket is its stdin (Supervisor's fcgi-program).
    stdin: socket?.listenAt === 0 ? 'null' : 'pipe',
    stdout: 'pipe',
    stderr: program.redirectStderr ? 'stdout' : 'pipe',
  });
  if (listener && child.stdin && child.stdout) events.attachListener(spec, child.stdin.stream(), child.stdout.stream());
  else if (child.stdout) void opts.output.attach(spec.name, 'stdout', outputSource(spec, child.pid, 'stdout', child.stdout, events), { logFile: logFile(spec, 'stdout', opts) });
  if (child.stderr) void opts.output.attach(spec.name, 'stderr', outputSource(spec, child.pid, 'stderr', child.stderr, events), { logFile: logFile(spec, 'stderr', opts) });
  return ready ? { ...child, readiness: ready.start(child) } : child;
}

/**
 * What the output reads of a program's pipe: the pipe itself (the fast path) unless events want
 * its chunks too (PROCESS_LOG events) or look for capture-mode tokens in it; then a stream.
 */
function outputSource(spec: ProcessSpec, pid: number, stream: 'stdout' | 'stderr', pipe: ReadPipe, events: LaunchEvents | undefined): Readable | ReadPipe {
  if (!events?.readsStream(spec, stream)) return pipe;
  const source = pipe.stream();
  if (stream === 'stdout' ? spec.program.stdoutEvents : spec.program.stderrEvents) source.on('data', (c: Buffer) => events.output(spec, pid, stream, c));
  return events.capture(spec, pid, stream, source);
}

/** spawnProcess, releasing the ready method's socket when the spawn fails. */
function spawnReady(ready: ReadyPrep | undefined, options: Parameters<typeof spawnProcess>[0]): SpawnedChild {
  try {
    return spawnProcess(options);
  } catch (err) {
    ready?.abort();
    throw err;
  }
}

function logFile(spec: ProcessSpec, stream: 'stdout' | 'stderr', opts: LaunchOptions): LogFileConfig | undefined {
  const program = spec.program;
  const file = stream === 'stdout' ? program.stdoutLogfile : program.stderrLogfile;
  if (!file) return undefined;
  const target = file.path === 'AUTO' ? path.join(opts.logdir ?? '/var/log/ringmaster', `${spec.name}-${stream}.log`) : file.path;
  return { path: target, maxBytes: file.maxBytes, backups: file.backups, stripAnsi: program.stripAnsi };
}

/** The environment of a process's checks, made once per process (checks run every few seconds). */
const checkEnvs = new WeakMap<ProcessSpec, { serverUrl?: string; env: Record<string, string>; user?: ReturnType<typeof resolveUser> }>();

/**
 * Start a healthcheck command of a process the way the process itself is started: its user,
 * directory, umask and environment, in its own process group (so a timeout kills all of it).
 * With `capture`, stdout and stderr share one pipe the check reads; else both go to /dev/null.
 * The Reaper reaps it.
 */
export function launchCheck(spec: ProcessSpec, argv: string[], capture: boolean, opts: LaunchOptions): CheckChild {
  const program = spec.program;
  let cached = checkEnvs.get(spec);
  if (!cached || cached.serverUrl !== opts.serverUrl) {
    const user = program.user ? resolveUser(program.user) : undefined;
    cached = { serverUrl: opts.serverUrl, env: programEnv(spec, opts, user), user };
    checkEnvs.set(spec, cached);
  }
  const user = cached.user;
  const child = spawnProcess({
    argv,
    env: cached.env,
    ...runsAs(program, user),
    stdin: 'null',
    stdout: capture ? 'pipe' : 'null',
    stderr: capture ? 'stdout' : 'null',
  });
  return { pid: child.pid, exited: child.exited, stdout: child.stdout?.stream() };
}

/** Supervisor's pre-check before a start by request: a missing command is NO_FILE, a bad one NOT_EXECUTABLE. */
export function checkCommand(spec: ProcessSpec): { code: 'NO_FILE' | 'NOT_EXECUTABLE'; message: string } | null {
  const program = spec.program;
  const env = { ...inheritedEnv(), ...program.environment };
  try {
    resolveExecutable(program.argv[0] ?? '', env, program.directory);
    return null;
  } catch (err) {
    if (!(err instanceof SpawnError)) throw err;
    return { code: err.code === 'ENOENT' ? 'NO_FILE' : 'NOT_EXECUTABLE', message: err.message };
  }
}
