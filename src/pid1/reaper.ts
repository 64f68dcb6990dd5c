import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { native } from './native';
import type { WaitResult } from './native-types';
import { childPids as listChildren } from './proc';

/*
 * The one place that reaps, and the one that knows every child pid.
 *   - Children started by src/pid1/spawn (natively, unknown to libuv) are tracked with a callback.
 *   - libuv's own children (child_process: pidusage, health checks, libraries) are recorded by
 *     wrapping ChildProcess.prototype.spawn, which spawn/exec/execFile/fork all go through, and
 *     are never touched: libuv reaps them with waitpid(pid) and emits their 'exit'.
 *   - Anything else that ends is an orphan we adopted (as PID 1 or child subreaper).
 * On SIGCHLD (batched with setImmediate): peek at an ended child with waitid(WNOWAIT), reap it
 * with waitpid(pid) unless it is libuv's, repeat until none is left. libuv turns each signal into
 * a write on its self-pipe, so once the listener is installed (and one drain done) no exit can
 * go unseen: there is no periodic sweep, and an idle ringmaster is not woken. Only when SIGCHLD
 * arrives blocked (a parent's mask we inherited) is a 5-second sweep the fallback.
 * Never waitpid(-1): it would steal libuv's statuses and their 'exit' events would never fire.
 * Not covered: child_process used inside worker threads (another ChildProcess class), and
 * spawnSync (it reaps its own child before any of this can run).
 */

const tracked = new Map<number, (r: WaitResult) => void>();
const libuvOwned = new Set<number>();

// At import, not at start(): a child_process child started before the Reaper must be known too.
wrapChildProcessSpawn();

function wrapChildProcessSpawn(): void {
  const proto = ChildProcess.prototype as unknown as { spawn: (...args: unknown[]) => unknown; ringmasterWrapped?: true };
  if (proto.ringmasterWrapped) return;
  const original = proto.spawn;
  proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
    const result = original.apply(this, args);
    const pid = this.pid;
    if (pid !== undefined) {
      libuvOwned.add(pid);
      this.once('exit', () => libuvOwned.delete(pid));
    }
    return result;
  };
  proto.ringmasterWrapped = true;
}

/** The running Reaper's loop holder (and sweep, if any): ref'd while native children are tracked. */
let sweepTimer: NodeJS.Timeout | undefined;

/**
 * Called by spawn.ts right after a native spawn: `onExit` gets the child's wait status once.
 * libuv knows nothing of these children and a SIGCHLD listener does not keep the event loop
 * alive, so while any is tracked a timer holds the loop open (as libuv's process handle
 * would): else a child that closed its pipes could let ringmaster exit before its SIGCHLD.
 */
export function trackChild(pid: number, onExit: (r: WaitResult) => void): void {
  tracked.set(pid, onExit);
  sweepTimer?.ref();
}

/** Forget a tracked pid whose exit nobody waits for any more (a daemon given up on). */
export function untrackChild(pid: number): void {
  untrack(pid);
}

function untrack(pid: number): ((r: WaitResult) => void) | undefined {
  const onExit = tracked.get(pid);
  tracked.delete(pid);
  if (tracked.size === 0) sweepTimer?.unref();
  return onExit;
}

/** First retry when one of libuv's ended children heads the wait queue (libuv reaps it itself). */
const LIBUV_RETRY_MS = 5;
/** The retry doubles while the same child stays in the way, up to this. */
const LIBUV_RETRY_MAX_MS = 1000;
/** The sweep when SIGCHLD cannot reach us (blocked in the mask we inherited). */
const SWEEP_MS = 5000;
/** Longest Node timer: holds the loop open while children are tracked, never fires in practice. */
const HOLD_MS = 2 ** 31 - 1;

export type OrphanListener = (pid: number, status: WaitResult) => void;

export class Reaper {
  private listeners: OrphanListener[] = [];
  private scheduled = false;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = LIBUV_RETRY_MS;
  private blockedBy = 0;
  private sweep: NodeJS.Timeout | undefined;
  private readonly onSigchld = () => this.schedule();

  /** `listener` hears of every reaped child that was neither ours nor libuv's; returns its removal. */
  onOrphanReaped(listener: OrphanListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Same as trackChild: `onExit` gets this natively spawned child's status once it is reaped. */
  track(pid: number, onExit: (r: WaitResult) => void): void {
    trackChild(pid, onExit);
  }

  /** Listen for SIGCHLD (sweep only if it is blocked), and become a child subreaper when not PID 1. */
  start(): void {
    if (this.sweep) return;
    process.on('SIGCHLD', this.onSigchld);
    const blocked = sigchldBlocked();
    if (blocked) process.stderr.write('ringmaster: warning: SIGCHLD is blocked in the signal mask ringmaster was started with; checking for ended children every 5 s\n');
    this.sweep = setInterval(() => this.drain(), blocked ? SWEEP_MS : HOLD_MS);
    sweepTimer = this.sweep;
    if (tracked.size === 0) this.sweep.unref();
    if (process.pid !== 1 && !native.setSubreaper()) {
      process.stderr.write('ringmaster: warning: could not become a child subreaper; orphans of programs may stay zombies\n');
    }
    this.drain();
  }

  stop(): void {
    process.off('SIGCHLD', this.onSigchld);
    clearInterval(this.sweep);
    if (sweepTimer === this.sweep) sweepTimer = undefined;
    this.sweep = undefined;
    clearTimeout(this.retry);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Reap every ended child that is ours or an orphan; leave libuv's to libuv. */
  drain(): void {
    for (;;) {
      const pid = native.peek();
      if (pid === 0) break;
      if (libuvOwned.has(pid)) return this.waitForLibuv(pid);
      if (!this.reapOne(pid)) break; // cannot happen: peek saw it ended; never spin on it
    }
    this.blockedBy = 0;
    this.retryMs = LIBUV_RETRY_MS;
  }

  /**
   * waitid returns one ended child at a time, so one of libuv's at the head hides the others
   * until libuv has reaped it (normally within the same loop turn). Meanwhile our own children,
   * a few, are reaped directly; if the same child is still in the way at the next attempt, so
   * are adopted orphans (waitpid(pid) on each child of this process that is not libuv's).
   */
  private waitForLibuv(pid: number): void {
    const again = pid === this.blockedBy;
    this.retryMs = again ? Math.min(this.retryMs * 2, LIBUV_RETRY_MAX_MS) : LIBUV_RETRY_MS;
    this.blockedBy = pid;
    for (const own of [...tracked.keys()]) this.reapOne(own);
    if (again) for (const child of childPids()) if (!libuvOwned.has(child) && !tracked.has(child)) this.reapOne(child);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.drain(), this.retryMs);
  }

  private reapOne(pid: number): boolean {
    const status = native.reap(pid);
    if (!status) return false;
    const onExit = untrack(pid);
    if (onExit) onExit(status);
    else for (const l of this.listeners) l(pid, status);
    return true;
  }
}

/** Whether SIGCHLD (17) is blocked for the main thread (SigBlk of /proc/self/status, hex). */
function sigchldBlocked(): boolean {
  try {
    const mask = /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 16n)) !== 0n;
  } catch {
    return false;
  }
}

/** Every child of this process, zombies included; the tracked ones if /proc is unreadable. */
function childPids(): number[] {
  return listChildren({ zombies: true }) ?? [...tracked.keys()];
}
