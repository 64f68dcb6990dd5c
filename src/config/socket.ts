// `socket:` and its `socket_*` keys, and `pidfile:` (SPEC §9): their shape and rules here; the
// socket itself is made at run time by cli/sockets.ts.
import path from 'node:path';
import { isScalar, type Node } from 'yaml';
import type { ProgramSocket } from './types';
import { resolveUser } from './users';
import type { ValueReader } from './values';

export const SOCKET_KEYS = ['socket', 'socket_mode', 'socket_owner', 'socket_backlog', 'socket_fd', 'pidfile'] as const;

/** Supervisor's default for a unix socket's mode. */
export const DEFAULT_SOCKET_MODE = 0o700;

/** `socket: tcp://HOST:PORT` or `unix:///PATH` with its `socket_*` keys; undefined when absent or bad. */
export function readSocket(r: ValueReader, base: string, values: Map<string, Node>, etcDir: string): ProgramSocket | undefined {
  const node = values.get('socket');
  if (!node) {
    for (const key of ['socket_mode', 'socket_owner', 'socket_backlog', 'socket_fd']) {
      if (values.has(key)) r.fail(values.get(key), `${base}.${key}`, 'needs a "socket:" on the same program');
    }
    return undefined;
  }
  const p = `${base}.socket`;
  const url = r.text(node, p, 'a socket URL like tcp://127.0.0.1:8000 or unix:///run/app.sock');
  if (url === undefined) return undefined;
  const parsed = parseSocketUrl(url);
  // Bad or not, the other keys are checked too: every problem at once.
  if (typeof parsed === 'string') r.fail(node, p, parsed);
  const address = typeof parsed === 'string' ? undefined : parsed;

  const modeNode = values.get('socket_mode');
  let mode = DEFAULT_SOCKET_MODE;
  if (modeNode) {
    // `socket_mode: 0660` is the number 660 to YAML 1.2: read the digits as written.
    const t = isScalar(modeNode) && typeof modeNode.value === 'number' && modeNode.source ? modeNode.source.replace(/^0o/i, '0') : r.text(modeNode, `${base}.socket_mode`);
    if (t !== undefined && !/^[0-7]{1,4}$/.test(t)) r.fail(modeNode, `${base}.socket_mode`, `expected an octal mode like "0660", got "${t}"`);
    else if (t !== undefined) mode = parseInt(t, 8);
  }
  const ownerNode = values.get('socket_owner');
  let owner: ProgramSocket['owner'];
  if (ownerNode) {
    const t = r.text(ownerNode, `${base}.socket_owner`);
    if (t !== undefined) {
      try {
        if (!/^[^:\s]+(:[^:\s]+)?$/.test(t)) throw new Error(`expected a user name or uid[:group], got "${t}"`);
        const u = resolveUser(t, etcDir);
        owner = { spec: t, uid: u.uid, gid: u.gid };
      } catch (err) {
        r.fail(ownerNode, `${base}.socket_owner`, (err as Error).message);
      }
    }
  }
  for (const key of ['socket_mode', 'socket_owner'] as const) {
    if (values.has(key) && address?.kind === 'tcp') r.fail(values.get(key), `${base}.${key}`, 'applies to a unix:// socket only');
  }
  const backlogNode = values.get('socket_backlog');
  const backlog = backlogNode ? r.int(backlogNode, `${base}.socket_backlog`, 1, 65535) : undefined;
  const fdNode = values.get('socket_fd');
  let fd: 0 | 3 = 3;
  if (fdNode) {
    const n = r.int(fdNode, `${base}.socket_fd`, 0, 3);
    if (n !== undefined && n !== 0 && n !== 3) r.fail(fdNode, `${base}.socket_fd`, `expected 0 or 3, got ${n}`);
    else if (n !== undefined) fd = n as 0 | 3;
  }
  return address && { url, ...address, mode, owner, backlog, fd };
}

type Address = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** The address of a socket URL, or what is wrong with it. */
export function parseSocketUrl(url: string): Address | string {
  if (url.startsWith('unix://')) {
    const file = url.slice('unix://'.length);
    if (!path.isAbsolute(file)) return `expected an absolute path after unix:// (unix:///run/app.sock), got "${url}"`;
    if (Buffer.byteLength(file) > 107) return `a unix socket path may be at most 107 bytes, "${file}" has ${Buffer.byteLength(file)}`;
    return { kind: 'unix', path: path.normalize(file) };
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]*):(\d+)$/.exec(url);
  if (!m) return `expected tcp://HOST:PORT or unix:///PATH, got "${url}"`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `expected a port from 1 to 65535, got ${m[2]}`;
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  return { kind: 'tcp', host: host === '*' ? '' : host, port };
}

/** `pidfile:` as an absolute path: a relative one is taken from the program's `directory`, else the config's. */
export function readPidfile(r: ValueReader, base: string, values: Map<string, Node>, directory: string | undefined, numprocs: number): string | undefined {
  const node = values.get('pidfile');
  if (!node) return undefined;
  const t = r.text(node, `${base}.pidfile`, 'a path');
  if (t === undefined) return undefined;
  if (t === '') return r.fail(node, `${base}.pidfile`, 'is empty');
  if (numprocs > 1) return r.fail(node, `${base}.pidfile`, 'cannot be used with numprocs above 1 (one daemon, one pid file)');
  return path.resolve(directory ?? r.source.dir, t);
}
