import { readFileSync } from 'node:fs';
import { native } from './native';

/*
 * Gives memory back once ringmaster goes quiet (issue #17). About three quarters of an idle
 * ringmaster's RSS is pages of the node executable that start-up touched once; a burst of
 * output or control calls leaves freed malloc memory behind. After a quiet spell (no state
 * change, no control call, no output) one trim runs: a heap-shrinking GC (V8's LowMemoryNotification;
 * V8's own memory reducer is off, see v8-flags.ts), malloc_trim, and MADV_DONTNEED
 * on the executable's clean read-only mappings (native/ringmaster.c). Pages needed again fault
 * back in from the page cache. Nothing runs while nothing happens: the timer is armed by
 * activity only, and trims are at least MIN_GAP_MS apart so a steady trickle of activity does
 * not make ringmaster drop and fault in the same code pages over and over. One follow-up look
 * FOLLOW_UP_MS after a trim trims once more if RSS grew back by WORTH_BYTES: the code that ran
 * right after the first (V8's GC finishing on its threads, the next turns of the loop) faults
 * its pages back 64 KiB at a time, and most of that is not needed again while idle.
 */

/** Quiet time before a trim. */
const QUIET_MS = 1500;
/** Least time between two trims. */
const MIN_GAP_MS = 30_000;
/** The follow-up look after a trim. */
const FOLLOW_UP_MS = 10_000;
/** A trim that would give back less than this (RSS grown since the last one) is skipped. */
const WORTH_BYTES = 2 * 1024 * 1024;

export interface TrimResult {
  /** RSS before and after, in bytes (0 where /proc is unreadable). */
  before: number;
  after: number;
  ms: number;
}

export class MemoryTrimmer {
  private timer: NodeJS.Timeout | undefined;
  private activity = 0;
  private seenActivity = 0;
  private lastTrimAt = -Infinity;
  private rssAfterLastTrim = 0;
  private followUp = false;
  private closed = false;

  constructor(
    private readonly onTrim: (r: TrimResult) => void = () => {},
    /** Called first: drop caches kept for reuse (the output's spare buffers). */
    private readonly beforeTrim: () => void = () => {},
  ) {}

  /** Something happened; a trim follows once things have been quiet for a while. Cheap: per chunk. */
  touch(): void {
    this.activity++;
    if (this.timer === undefined && !this.closed) this.arm(QUIET_MS);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.seenActivity = this.activity;
    this.timer = setTimeout(() => this.onQuiet(), ms);
    this.timer.unref();
  }

  private onQuiet(): void {
    this.timer = undefined;
    if (this.activity !== this.seenActivity) {
      this.followUp = false;
      return this.arm(QUIET_MS);
    }
    const wait = this.lastTrimAt + (this.followUp ? FOLLOW_UP_MS : MIN_GAP_MS) - performance.now();
    if (wait > 0) return this.arm(wait);
    const followUp = this.followUp;
    this.followUp = false;
    if (rssBytes() - this.rssAfterLastTrim < WORTH_BYTES) return;
    // No GC in the follow-up: it is for code pages faulted back in, not for the heap.
    const result = this.trim(!followUp);
    this.lastTrimAt = performance.now();
    this.rssAfterLastTrim = result.after;
    this.onTrim(result);
    if (!followUp) {
      this.followUp = true;
      this.arm(FOLLOW_UP_MS);
    }
  }

  trim(gc = true): TrimResult {
    const t0 = performance.now();
    const before = rssBytes();
    this.beforeTrim();
    if (gc) native.reduceHeap();
    native.trimMemory();
    return { before, after: rssBytes(), ms: performance.now() - t0 };
  }
}

function rssBytes(): number {
  try {
    const kb = /^VmRSS:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}
