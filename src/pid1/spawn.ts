import { statSync, accessSync, constants as fsConstants } from 'node:fs';
import { Socket } from 'node:net';
import path from 'node:path';
import type { ExitStatus } from '../supervisor/exit-status';
import { native } from './native';
import type { NativeSpawnOptions, StdioMode } from './native-types';
import { trackChild } from './reaper';

export interface SpawnOptions {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  uid?: number;
  gid?: number;
  groups?: number[];
  umask?: number;
  pgroup: NativeSpawnOptions['pgroup'];
  foreground?: boolean;
  stdin: StdioMode;
  stdout: StdioMode;
  stderr: StdioMode | 'stdout';
}

export interface SpawnedChild {
  pid: number;
  stdin?: Socket;
  stdout?: Socket;
  stderr?: Socket;
  /** Resolves once the child was reaped (by the Reaper, which must be started). */
  exited: Promise<ExitStatus>;
}

/** A child that could not be started; nothing is left running. `code` is the errno name. */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly syscall: string,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

const FALLBACK_PATH = '/bin:/usr/bin:/usr/local/bin';

/**
 * Supervisor's lookup: argv[0] with a '/' is used as is (relative to the program's directory),
 * else searched in the program's PATH, else ringmaster's, else a default.
 */
export function resolveExecutable(file: string, env: Record<string, string>, cwd?: string): string {
  let found: string | undefined;
  if (file.includes('/')) {
    found = path.resolve(cwd ?? process.cwd(), file);
    if (!isFile(found) && !isDir(found)) throw new SpawnError(`can't find command '${file}'`, 'ENOENT', 'lookup');
  } else {
    const dirs = (env.PATH ?? process.env.PATH ?? FALLBACK_PATH).split(':');
    found = dirs.map((d) => path.resolve(cwd ?? process.cwd(), d || '.', file)).find(isFile);
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
  const file = resolveExecutable(opts.argv[0], opts.env, opts.cwd);
  const env = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
  const credentials = needsCredentials(opts) ? {} : { uid: undefined, gid: undefined, groups: undefined };
  let result;
  try {
    result = native().spawn({ ...opts, ...credentials, file, env });
  } catch (err) {
    const e = err as Error & { code: string; syscall: string };
    throw new SpawnError(describeFailure(e.syscall, e.code, file, opts), e.code, e.syscall);
  }
  let resolveExit!: (s: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((resolve) => (resolveExit = resolve));
  trackChild(result.pid, (r) => resolveExit({ code: r.code, signal: r.signal }));
  return {
    pid: result.pid,
    stdin: result.stdinFd >= 0 ? new Socket({ fd: result.stdinFd, readable: false, writable: true }) : undefined,
    stdout: result.stdoutFd >= 0 ? new Socket({ fd: result.stdoutFd, readable: true, writable: false }) : undefined,
    stderr: result.stderrFd >= 0 ? new Socket({ fd: result.stderrFd, readable: true, writable: false }) : undefined,
    exited,
  };
}

/** Switching to the user ringmaster already is needs no privilege (and setgroups would need it). */
function needsCredentials(opts: SpawnOptions): boolean {
  if (opts.uid === undefined && opts.gid === undefined) return false;
  if (process.getuid?.() === 0) return true;
  return !((opts.uid === undefined || opts.uid === process.getuid?.()) && (opts.gid === undefined || opts.gid === process.getgid?.()));
}

function describeFailure(step: string, code: string, file: string, opts: SpawnOptions): string {
  switch (step) {
    case 'chdir':
      return `couldn't chdir to ${opts.cwd}: ${code}`;
    case 'setuid':
      return `couldn't setuid to ${opts.uid}: ${code}`;
    case 'setgid':
    case 'setgroups':
      return `couldn't ${step} to ${opts.gid}: ${code}`;
    case 'exec':
      return `couldn't exec ${file}: ${code}`;
    default:
      return `couldn't start ${file} (${step}): ${code}`;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
