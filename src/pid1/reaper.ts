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

/** Called by spawn.ts right after a native spawn: `onExit` gets the child's wait status once. */
export function trackChild(pid: number, onExit: (r: WaitResult) => void): void {
  tracked.set(pid, onExit);
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
    this.sweep.unref();
    if (process.pid !== 1 && !native().setSubreaper()) {
      process.stderr.write('ringmaster: warning: could not become a child subreaper; orphans of programs may stay zombies\n');
    }
    this.drain();
  }

  stop(): void {
    process.off('SIGCHLD', this.onSigchld);
    clearInterval(this.sweep);
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
    const onExit = tracked.get(pid);
    if (onExit) {
      tracked.delete(pid);
      onExit(status);
    } else {
      for (const l of this.listeners) l(pid, status);
    }
    return true;
  }
}
