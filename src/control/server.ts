import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { serve, type ApiDeps } from './json-api';
import { answerClientError, closeServer, limitConnections, listen } from './http-util';
import { fallbackSocketDir, fallbackSocketPath, socketPathProblem } from './socket-path';

/** Connections at once on the control socket: supervisorctl, ctl, tail -f and /v1/events followers. */
export const MAX_SOCKET_CONNECTIONS = 64;

/** Is something answering on this socket? (A stale file from a killed ringmaster is not.) */
function inUse(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface ControlServer {
  /** Where it listens, or null when no socket could be made. */
  socketPath: string | null;
  close(): Promise<void>;
}

/**
 * The private 0700 directory of the temp-dir fallback, made if missing; an existing one must be a
 * real directory (not a symlink), ours and closed to others, or it is not used.
 */
function privateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  const me = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== me) throw new Error(`${dir} is owned by uid ${st.uid}, not by us (uid ${me})`);
  if ((st.mode & 0o077) !== 0) throw new Error(`${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)})`);
}

/**
 * Clear the way for a new socket at `candidate`: a stale socket (nobody answers) is removed; a
 * live one, or anything that is not a socket, is left alone (a regular file at the socket path
 * used to be deleted, any file when run as root) and this candidate is skipped.
 */
async function clearStale(candidate: string): Promise<string | undefined> {
  let st;
  try {
    st = lstatSync(candidate);
  } catch {
    return undefined; // nothing there
  }
  if (!st.isSocket()) return `${candidate} exists and is not a socket; leaving it alone`;
  if (await inUse(candidate)) return `control socket ${candidate} is in use by another process`;
  unlinkSync(candidate);
  return undefined;
}

/**
 * Listen on `socketPath` with no moment in which another user could connect: the socket is
 * created under umask 077 (issue #12, 6: under umask 000 another uid connected before the
 * chmod). Node binds a unix socket synchronously inside listen(), so the umask is back before
 * anything else runs; programs are not spawned yet when the control server starts.
 */
function listenPrivately(server: Server, socketPath: string): Promise<void> {
  const old = process.umask(0o077);
  try {
    return listen(server, socketPath);
  } finally {
    process.umask(old);
  }
}

/**
 * The control socket (SPEC §6): HTTP on a unix socket, mode 0700. Where `/run` (the configured
 * directory) is not writable, a private 0700 directory in the temp dir; where neither works, a
 * warning and no socket — a container never fails to start for want of its control socket.
 */
export async function startControlServer(configured: string, deps: ApiDeps, warn: (text: string) => void, info: (text: string) => void = warn): Promise<ControlServer> {
  const candidates = [configured, fallbackSocketPath(configured)];
  // The socket is trusted (mode 0700): a failing check's output may be shown on it.
  const trusted = { ...deps, trusted: true };
  // One warning however many places failed (a read-only root fails them all), not one per place.
  const failed: string[] = [];
  for (const candidate of [...new Set(candidates)]) {
    const tooLong = socketPathProblem(candidate);
    if (tooLong) {
      failed.push(`cannot listen on ${candidate}: ${tooLong}`);
      continue;
    }
    // A fresh server per candidate: one that failed to listen is not reused.
    const server = createServer((req, res) => serve(req, res, trusted));
    server.on('clientError', answerClientError);
    limitConnections(server, MAX_SOCKET_CONNECTIONS, warn);
    try {
      if (candidate !== configured) privateDir(fallbackSocketDir());
      const skip = await clearStale(candidate);
      if (skip) {
        failed.push(skip);
        continue;
      }
      await listenPrivately(server, candidate);
      chmodSync(candidate, 0o700);
      if (failed.length > 0) warn(`control socket at ${candidate} (${failed.join('; ')})`);
      else if (candidate !== configured) info(`control socket at ${candidate} (${configured} could not be used)`);
      return {
        socketPath: candidate,
        close: () => {
          const closed = closeServer(server);
          try {
            // Only the socket we made: if something else took its place meanwhile, it stays.
            if (lstatSync(candidate).isSocket()) unlinkSync(candidate);
          } catch {
            // already gone
          }
          return closed;
        },
      };
    } catch (err) {
      server.close();
      failed.push(`cannot listen on ${candidate}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  warn(`no control socket (${failed.join('; ')}): \`ringmaster ctl\` will not reach this ringmaster`);
  return { socketPath: null, close: async () => {} };
}
