import { accessSync, closeSync, statSync, constants as fsConstants } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { native } from './native';
import type { NativeSpawnOptions, StdioMode, WaitResult } from './native-types';
import { trackChild } from './reaper';

export interface SpawnOptions {
  argv: string[];
  /** The child's whole environment. */
  env: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Supplementary groups (the user's); without them a credential switch keeps only `gid`. */
  groups?: number[];
  umask?: number;
  pgroup: NativeSpawnOptions['pgroup'];
  /** Hand the terminal on fd 0 to the child's process group (tini's tcsetpgrp). */
  foreground?: boolean;
  stdin: StdioMode;
  stdout: StdioMode;
  stderr: StdioMode | 'stdout';
  /** `ready: fd:N`: the child gets the write end of a pipe as fd N; `SpawnedChild.ready` reads it. */
  readyFd?: number;
  /** A listening socket passed on as fd `listenAt` (see NativeSpawnOptions). */
  listenFd?: number;
  listenAt?: 0 | 3;
}

/**
 * The read end of a child's stdout or stderr pipe, read one of two ways: as a stream (made on
 * first use), or by whoever claims the file descriptor (the output multiplexer, which reads it
 * into one shared buffer instead of a new Buffer per read). Never both.
 */
export class ReadPipe {
  private socket: Socket | undefined;
  private claimed = false;

  constructor(readonly fd: number) {}

  stream(): Socket {
    if (this.claimed) throw new Error(`pipe fd ${this.fd} was claimed: it has no stream`);
    this.socket ??= new Socket({ fd: this.fd, readable: true, writable: false });
    return this.socket;
  }

  /** The fd, now the caller's to read and close. */
  claimFd(): number {
    if (this.socket || this.claimed) throw new Error(`pipe fd ${this.fd} is already read`);
    this.claimed = true;
    return this.fd;
  }
}

/**
 * The write end of a child's stdin pipe. Most programs never get input, so the stream (a libuv
 * handle) is made on first use; until then only the file descriptor is held.
 */
export class StdinPipe {
  private socket: Socket | undefined;
  private closed = false;

  constructor(private readonly fd: number) {}

  get destroyed(): boolean {
    return this.closed || (this.socket?.destroyed ?? false);
  }

  stream(): Socket {
    if (!this.socket) {
      this.socket = new Socket({ fd: this.fd, readable: false, writable: true });
      // EPIPE from a child that exited: the write's callback reports it; it must not throw.
      this.socket.on('error', () => {});
    }
    return this.socket;
  }

  get queued(): number {
    return this.socket?.writableLength ?? 0;
  }

  write(data: Buffer, done: (err?: Error | null) => void): void {
    this.stream().write(data, done);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.socket) this.socket.destroy();
    else closeSync(this.fd);
  }
}

export interface SpawnedChild {
  pid: number;
  /** When stdin is 'pipe'. */
  stdin?: StdinPipe;
  /** When stdout is 'pipe'; its stream ends at EOF. */
  stdout?: ReadPipe;
  /** When stderr is 'pipe'. */
  stderr?: ReadPipe;
  /** Readable, when readyFd was asked for: what the child writes to its fd N. */
  ready?: Socket;
  /** Resolves once the child was reaped, by the Reaper (which must be started). */
  exited: Promise<WaitResult>;
}

/**
 * A child that could not be started; nothing is left running. `code` is the errno name
 * ('ENOENT'), `syscall` the step that failed ('lookup' for the PATH search, else the child's
 * step: 'exec', 'chdir', 'setuid' …), the message is Supervisor's wording.
 */
export class SpawnError extends Error {
  readonly errno: number;
  constructor(
    message: string,
    readonly code: string,
    readonly syscall: string,
    errno?: number,
  ) {
    super(message);
    this.name = 'SpawnError';
    this.errno = errno ?? (osConstants.errno as Record<string, number>)[code] ?? 0;
  }
}

const FALLBACK_PATH = '/bin:/usr/bin:/usr/local/bin';

/**
 * Supervisor's lookup: argv[0] with a '/' is used as is (relative to the program's directory,
 * where the child will be); else it is searched in the PATH of the program's environment, else
 * in ringmaster's PATH, else in /bin:/usr/bin:/usr/local/bin. Throws SpawnError.
 */
export function resolveExecutable(file: string, env: Record<string, string>, cwd?: string): string {
  const base = cwd ?? process.cwd();
  const key = `${base}\0${env.PATH ?? process.env.PATH ?? ''}\0${file}`;
  const known = foundThisTurn.get(key);
  if (known !== undefined) return known;
  const found = lookUp(file, env, base);
  // Programs started together (100 at start-up) mostly share a command: one search per turn.
  if (foundThisTurn.size === 0) queueMicrotask(() => foundThisTurn.clear());
  foundThisTurn.set(key, found);
  return found;
}

const foundThisTurn = new Map<string, string>();

function lookUp(file: string, env: Record<string, string>, base: string): string {
  let found: string | undefined;
  if (file.includes('/')) {
    found = path.resolve(base, file);
    if (!exists(found)) throw new SpawnError(`can't find command '${file}'`, 'ENOENT', 'lookup');
  } else {
    const dirs = (env.PATH ?? process.env.PATH ?? FALLBACK_PATH).split(':');
    found = dirs.map((d) => path.resolve(base, d || '.', file)).find(isFile);
    if (!found) throw new SpawnError(`can't find command '${file}'`, 'ENOENT', 'lookup');
  }
  if (isDir(found)) throw new SpawnError(`command at '${found}' is a directory`, 'EISDIR', 'lookup');
  try {
    accessSync(found, fsConstants.X_OK);
  } catch {
    throw new SpawnError(`command at '${found}' is not executable`, 'EACCES', 'lookup');
  }
  return found;
}

/** The one place that starts child processes (programs and single commands alike). */
export function spawnProcess(opts: SpawnOptions): SpawnedChild {
  if (opts.argv.length === 0 || opts.argv[0] === '') throw new SpawnError('command is empty', 'EINVAL', 'lookup');
  const env = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
  for (const s of [...opts.argv, ...env, opts.cwd ?? '']) {
    if (s.includes('\0')) throw new SpawnError(`argument, environment or directory contains a NUL byte: ${JSON.stringify(s)}`, 'EINVAL', 'lookup');
  }
  const file = resolveExecutable(opts.argv[0], opts.env, opts.cwd);
  const credentials = needsCredentials(opts) ? {} : { uid: undefined, gid: undefined, groups: undefined };
  let result;
  try {
    result = native.spawn({ ...opts, ...credentials, file, env });
  } catch (err) {
    const e = err as Error & { code: string; syscall: string; errno: number };
    throw new SpawnError(describeFailure(e.syscall, e.code, file, opts), e.code, e.syscall, e.errno);
  }
  let resolveExit!: (r: WaitResult) => void;
  const exited = new Promise<WaitResult>((resolve) => (resolveExit = resolve));
  trackChild(result.pid, resolveExit);
  return {
    pid: result.pid,
    stdin: result.stdinFd >= 0 ? new StdinPipe(result.stdinFd) : undefined,
    stdout: result.stdoutFd >= 0 ? new ReadPipe(result.stdoutFd) : undefined,
    stderr: result.stderrFd >= 0 ? new ReadPipe(result.stderrFd) : undefined,
    ready: result.readyFd >= 0 ? new Socket({ fd: result.readyFd, readable: true, writable: false }) : undefined,
    exited,
  };
}

/** Switching to the user ringmaster already is needs no privilege (setgroups would need it). */
function needsCredentials(opts: SpawnOptions): boolean {
  if (opts.uid === undefined && opts.gid === undefined) return false;
  if (process.getuid?.() === 0) return true;
  return !((opts.uid === undefined || opts.uid === process.getuid?.()) && (opts.gid === undefined || opts.gid === process.getgid?.()));
}

function describeFailure(step: string, code: string, file: string, opts: SpawnOptions): string {
  switch (step) {
    case 'exec':
      return `couldn't exec ${file}: ${code}`;
    case 'chdir':
      return `couldn't chdir to ${opts.cwd}: ${code}`;
    case 'setuid':
      return `couldn't setuid to ${opts.uid}: ${code}`;
    case 'setgid':
      return `couldn't setgid to ${opts.gid}: ${code}`;
    case 'setgroups':
      return `couldn't set supplementary groups ${(opts.groups ?? [opts.gid]).join(',')}: ${code}`;
    default:
      return `couldn't start ${file} (${step}): ${code}`;
  }
}

function stat(p: string) {
  try {
    // A miss is the common case of a PATH search: no exception for it (they cost ~0.2 ms each).
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined; // missing, or a directory on the way we may not search
  }
}
const exists = (p: string) => stat(p) !== undefined;
const isFile = (p: string) => stat(p)?.isFile() ?? false;
const isDir = (p: string) => stat(p)?.isDirectory() ?? false;
