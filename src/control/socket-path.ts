// Where the control socket lives, shared by the server (server.ts) and the ctl side (cli/ctl.ts).
import { lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export { MAX_SOCKET_PATH_BYTES, socketPathProblem } from '../config/settings';

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * The private directory of the temp-dir fallback: `/tmp/ringmaster-<euid>` (mode 0700, ours).
 * A socket directly in /tmp could be created first by any user, who then answered `healthcheck`
 * and received `ctl stop all` (issue #12, 9).
 */
export function fallbackSocketDir(): string {
  return path.join(tmpdir(), `ringmaster-${euid()}`);
}

export function fallbackSocketPath(configured: string): string {
  return path.join(fallbackSocketDir(), path.basename(configured));
}

/**
 * Why `ctl` and `healthcheck` must not talk to the socket at `socketPath`, or undefined: it is
 * trusted when it is owned by our euid or by root (what ringmaster runs as), and so is the
 * directory it is in (else its owner could swap the socket). A path that does not exist is left
 * to connect() to report.
 */
export function untrustedSocket(socketPath: string): string | undefined {
  const me = euid();
  const ok = (uid: number) => uid === me || uid === 0;
  let st;
  try {
    st = lstatSync(socketPath);
  } catch {
    return undefined;
  }
  if (!st.isSocket()) return `${socketPath} is not a socket`;
  if (!ok(st.uid)) return `${socketPath} is owned by uid ${st.uid}, neither you (uid ${me}) nor root: not trusted`;
  const dir = path.dirname(socketPath);
  try {
    const d = lstatSync(dir);
    // A sticky directory (/tmp) keeps others from replacing our socket; otherwise its owner could.
    if (!ok(d.uid) && (d.mode & 0o1000) === 0) return `${dir} is owned by uid ${d.uid}, neither you (uid ${me}) nor root: not trusted`;
    if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) return `${dir} is writable by others and not sticky: not trusted`;
  } catch {
    // the directory vanished: connect() will say so
  }
  return undefined;
}

/** Throws (for ctl's "cannot reach ringmaster" path) when the socket is not to be trusted. */
export function assertTrustedSocket(socketPath: string): void {
  const why = untrustedSocket(socketPath);
  if (why) throw new Error(why);
}

/** ctl's pick: the configured socket when one is there, else the server's fallback when that is. */
export function chooseSocket(configured: string): string {
  const fallback = fallbackSocketPath(configured);
  const isSocket = (p: string) => {
    try {
      return lstatSync(p).isSocket();
    } catch {
      return false;
    }
  };
  return isSocket(configured) || !isSocket(fallback) ? configured : fallback;
}
