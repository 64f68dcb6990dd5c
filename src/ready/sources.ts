// The three ways a program says it is ready (SPEC §10), each as a ReadySource for one run of one
// process: sd_notify on a socket of its own, s6's notification fd, or a file it creates.
import { mkdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { ReadyConfig } from '../config/types';
import { native } from '../pid1/native';
import type { NotifyHandle } from '../pid1/native-types';
import { pgidOf } from '../pid1/proc';
import type { ReadyNotice, ReadySource } from '../types';
import { parseNotify } from './notify-message';

/** Where a `file:` wait looks again when its directory cannot be watched (missing, no inotify). */
const FILE_POLL_MS = 250;
/** Notices that came before the process listened (the same turn of the event loop): few. */
const MAX_EARLY = 64;

export interface ReadyOptions {
  /** settings.notify_dir: sockets as files there; else abstract addresses. */
  notifyDir?: string;
  /** A warning line, for ringmaster's stderr (a refused sender or MAINPID, a notification fd closed without a newline). */
  warn(text: string): void;
}

/** What one spawn needs for its ready method, made before the spawn. */
export interface ReadyPrep {
  /** Added to the child's environment (NOTIFY_SOCKET, WATCHDOG_USEC). */
  env: Record<string, string>;
  /** `fd:N`: the fd the child's pipe end goes to. */
  readyFd?: number;
  /** After a successful spawn: the source of that child's notices. */
  start(child: { pid: number; ready?: Socket }): ReadySource;
  /** The spawn failed: release what was made for it. */
  abort(): void;
}

let serial = 0;

/** Prepare a spawn of process `name` with this ready config. Throws (errno-shaped) if a socket cannot be made. */
export function prepareReady(name: string, ready: ReadyConfig, opts: ReadyOptions): ReadyPrep {
  switch (ready.method.kind) {
    case 'notify':
      return prepareNotify(name, ready, opts);
    case 'fd':
      return { env: {}, readyFd: ready.method.fd, start: (child) => fdSource(name, child.ready, opts), abort: () => {} };
    case 'file': {
      const file = ready.method.path;
      const stale = identity(file);
      return { env: {}, start: () => fileSource(file, stale), abort: () => {} };
    }
  }
}

/** Notices go to the listener, or wait for it (bounded) when they came first. */
class Channel {
  private listener: ((n: ReadyNotice) => void) | undefined;
  private early: ReadyNotice[] = [];
  closed = false;

  listen(onNotice: (n: ReadyNotice) => void): void {
    this.listener = onNotice;
    for (const n of this.early.splice(0)) onNotice(n);
  }

  emit(n: ReadyNotice): void {
    if (this.closed) return;
    if (this.listener) this.listener(n);
    else if (this.early.length < MAX_EARLY) this.early.push(n);
  }
}

/**
 * One socket per spawn, not one for ringmaster: the address says which process a datagram is
 * for, so a sender that has already exited (`systemd-notify --no-block`) is still attributed,
 * and a late datagram of an earlier run never reaches the next one (its socket was closed with
 * it). The sender must still be of the program: a process of its process group (or of the
 * MAINPID's), or one already gone; anything else is refused, and logged once per run.
 */
function prepareNotify(name: string, ready: ReadyConfig, opts: ReadyOptions): ReadyPrep {
  const n = ++serial;
  // Names may be 255 bytes of any script; sun_path holds 107 bytes.
  const short = name.replace(/[^\w.-]/g, '_').slice(0, 40);
  let address: string;
  if (opts.notifyDir) {
    address = path.join(opts.notifyDir, `${process.pid}-${short}-${n}.sock`);
    try {
      mkdirSync(opts.notifyDir, { recursive: true, mode: 0o711 });
    } catch (err) {
      throw notifyError(address, err);
    }
  } else {
    address = `@ringmaster/${process.pid}/${short}/${n}/${Math.random().toString(36).slice(2, 10)}`;
  }
  const channel = new Channel();
  let pgid = 0;
  let mainPid = 0;
  let refusedLogged = false;
  const fromProgram = (pid: number): boolean => {
    if (pid <= 0) return false; // a sender in a pid namespace we cannot see
    if (pid === mainPid) return true;
    const its = pgidOf(pid);
    return its === 0 || its === pgid || (mainPid !== 0 && its === pgidOf(mainPid));
  };
  const onMessage = (text: string, pid: number) => {
    if (pgid === 0) return; // not spawned (yet): nobody may know the address
    if (!fromProgram(pid)) {
      if (!refusedLogged) opts.warn(`${name}: ignored an sd_notify message from pid ${pid}, which is not a process of its process group`);
      refusedLogged = true;
      return;
    }
    for (const notice of parseNotify(text)) {
      if (notice.kind === 'mainpid') {
        if (pgidOf(notice.pid) !== pgid) {
          opts.warn(`${name}: ignored MAINPID=${notice.pid}: not a live process of its process group`);
          continue;
        }
        mainPid = notice.pid;
      }
      channel.emit(notice);
    }
  };
  let handle: NotifyHandle;
  try {
    handle = openNotify(address, onMessage);
  } catch (err) {
    throw notifyError(address, err);
  }
  const env: Record<string, string> = { NOTIFY_SOCKET: address };
  if (ready.watchdogMs) env.WATCHDOG_USEC = String(ready.watchdogMs * 1000);
  return {
    env,
    start(child) {
      pgid = child.pid;
      return {
        listen: (cb) => channel.listen(cb),
        close() {
          channel.closed = true;
          handle.close();
        },
      };
    },
    abort: () => handle.close(),
  };
}

// Mode 0666: a program with `user:` must be able to send; the sender check is the guard.
function openNotify(address: string, onMessage: (text: string, pid: number) => void): NotifyHandle {
  return native.notifyOpen(address, onMessage, 0o666);
}

/** A failed socket is a failed spawn, in the spawn error's shape (code, message). */
function notifyError(address: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  return Object.assign(new Error(`couldn't make the NOTIFY_SOCKET ${address}: ${code}`), { code });
}

/** s6's notification-fd: ready at the first newline; then our end is closed, as s6 does. */
function fdSource(name: string, pipe: Socket | undefined, opts: ReadyOptions): ReadySource {
  const channel = new Channel();
  let done = false;
  const finish = () => {
    done = true;
    pipe?.destroy();
  };
  pipe?.on('error', () => {}); // ECONNRESET and the like: the child's side is gone, nothing to say
  pipe?.on('data', (chunk: Buffer) => {
    if (done || !chunk.includes(10)) return;
    channel.emit({ kind: 'ready' });
    finish();
  });
  pipe?.on('end', () => {
    if (!done && !channel.closed) opts.warn(`${name}: closed its notification fd without writing a newline (not ready)`);
    finish();
  });
  return {
    listen: (cb) => channel.listen(cb),
    close() {
      channel.closed = true;
      finish();
    },
  };
}

/** The inode and mtime of a file, or null when it does not exist. */
function identity(file: string): string | null {
  const st = statSync(file, { throwIfNoEntry: false, bigint: true });
  return st ? `${st.ino}:${st.mtimeNs}` : null;
}

/**
 * `file:PATH`: ready once PATH exists and is not the very file (same inode and mtime) that was
 * there before the spawn, so a file left by an earlier run does not count, but one rewritten or
 * touched by this run does. Waits on inotify (fs.watch on the parent directory); where that
 * directory does not exist yet or cannot be watched, it looks every 250 ms instead.
 */
function fileSource(file: string, stale: string | null): ReadySource {
  const channel = new Channel();
  let watcher: FSWatcher | undefined;
  let poll: NodeJS.Timeout | undefined;
  const stop = () => {
    watcher?.close();
    if (poll) clearInterval(poll);
    watcher = poll = undefined;
  };
  const check = () => {
    const now = identity(file);
    if (now === null || now === stale) return;
    stop();
    channel.emit({ kind: 'ready' });
  };
  const fallback = () => {
    watcher?.close();
    watcher = undefined;
    poll ??= setInterval(check, FILE_POLL_MS);
  };
  try {
    const base = path.basename(file);
    watcher = watch(path.dirname(file), { persistent: false }, (_event, changed) => {
      if (changed === null || changed === base) check();
    });
    watcher.on('error', fallback);
  } catch {
    fallback();
  }
  // Set up first, then look: a file made in between is seen either way.
  queueMicrotask(check);
  return {
    listen: (cb) => channel.listen(cb),
    close() {
      channel.closed = true;
      stop();
    },
  };
}
