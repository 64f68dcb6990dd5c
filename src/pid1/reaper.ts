import { ChildProcess } from 'node:child_process';
import { native } from './native';
import type { WaitResult } from './native-types';

/*
 * The one place that reaps. Children started by src/pid1/spawn (natively, unknown to libuv) are
 * tracked here with a callback; anything else that ends and is not libuv's is an orphan we
 * adopted (as PID 1 or child subreaper). libuv's own children (child_process, used by libraries)
 * are never touched: their pids are recorded by wrapping ChildProcess.prototype.spawn, and we
 * never call waitpid(-1), which would steal their exit statuses.
 */

const tracked = new Map<number, (r: WaitResult) => void>();
const libuvOwned = new Set<number>();
let spawnWrapped = false;
/** The running Reaper's sweep timer: ref'd while children are tracked (see below). */
let sweepTimer: NodeJS.Timeout | undefined;

/**
 * Called by spawn.ts right after a native spawn: `onExit` gets the child's wait status once.
 * libuv knows nothing of these children and Node's SIGCHLD listener does not keep the event loop
 * alive, so while any is tracked the sweep timer holds the loop open: without it, a child that
 * closed its pipes could end ringmaster before its SIGCHLD was handled.
 */
export function trackChild(pid: number, onExit: (r: WaitResult) => void): void {
  tracked.set(pid, onExit);
  sweepTimer?.ref();
}

function untrack(pid: number): ((r: WaitResult) => void) | undefined {
  const onExit = tracked.get(pid);
  tracked.delete(pid);
  if (tracked.size === 0) sweepTimer?.unref();
  return onExit;
}

function wrapChildProcessSpawn(): void {
  if (spawnWrapped) return;
  spawnWrapped = true;
  const proto = ChildProcess.prototype as unknown as { spawn: (...args: unknown[]) => unknown };
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
}

/** How long to wait for libuv to reap its own child that sits at the head of the wait queue. */
const LIBUV_RETRY_MS = 5;
/** The slow safety sweep; SIGCHLD is the trigger, this only guards against a lost wake-up. */
const SWEEP_MS = 5000;

export type OrphanListener = (pid: number, status: WaitResult) => void;

export class Reaper {
  private listeners: OrphanListener[] = [];
  private scheduled = false;
  private retry: NodeJS.Timeout | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private readonly onSigchld = () => this.schedule();

  onOrphanReaped(listener: OrphanListener): void {
    this.listeners.push(listener);
  }

  /** Listen for SIGCHLD, start the sweep, and become a child subreaper when not PID 1. */
  start(): void {
    wrapChildProcessSpawn();
    process.on('SIGCHLD', this.onSigchld);
    this.sweep = setInterval(() => this.drain(), SWEEP_MS);
    sweepTimer = this.sweep;
    if (tracked.size === 0) this.sweep.unref();
    if (process.pid !== 1 && !native().setSubreaper()) {
      process.stderr.write('ringmaster: warning: could not become a child subreaper; orphans of programs may stay zombies\n');
    }
    this.drain();
  }

  stop(): void {
    process.off('SIGCHLD', this.onSigchld);
    clearInterval(this.sweep);
    if (sweepTimer === this.sweep) sweepTimer = undefined;
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
    const addon = native();
    for (;;) {
      const pid = addon.peek();
      if (pid === 0) return;
      if (libuvOwned.has(pid)) {
        // libuv reaps it in its own SIGCHLD handler; until then it hides the others, so reap
        // our tracked children directly and look again shortly.
        for (const own of [...tracked.keys()]) this.reapOne(own);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.drain(), LIBUV_RETRY_MS);
        return;
      }
      if (!this.reapOne(pid)) return;
    }
  }

  private reapOne(pid: number): boolean {
    const status = native().reap(pid);
    if (!status) return false;
    const onExit = untrack(pid);
    if (onExit) {
      onExit(status);
    } else {
      for (const l of this.listeners) l(pid, status);
    }
    return true;
  }
}
