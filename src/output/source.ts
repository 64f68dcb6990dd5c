import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { LineSplitter } from './line-splitter';
import type { LogFile } from './logfile';
import type { OutBuffer } from './out-buffer';
import type { Producer } from './sink';
import type { TailBuffer } from './tail';
import type { OutputObserver, StreamName } from './types';

/**
 * Every pipe read by its fd is read into one buffer: a read's bytes are copied wherever they
 * must stay (tail, partial line, output buffer) before the next read, so no pipe costs a new
 * 64 KiB Buffer per read (the allocation and its page faults were a third of the output path's
 * CPU; issue #17).
 */
let readBuffer: Buffer | undefined;

/**
 * A pipe that keeps delivering a few bytes at a time (a program writing line by line) is read at
 * most once per this many ms: after a read that emptied it, shortly after the previous one, it
 * is left alone for this long and then read in one go. A line that comes alone is read at once;
 * lines of a burst wait at most this long. Each read and each write to the reader is a syscall
 * and a wake-up of the other side, which cost more than the bytes.
 */
export const COALESCE_MS = 1;

/** Pipes resting until the next coalescing tick (one timer for all of them). */
const resting = new Set<Source>();
let tick: NodeJS.Timeout | undefined;
function wakeResting(): void {
  tick = undefined;
  const all = [...resting];
  resting.clear();
  for (const s of all) s.wake();
}

/** A program's pipe: its splitter, its idle timer, and whether it is paused (held or resting). */
export class Source implements Producer {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private resting = false;
  private lastReadAt = -Infinity;
  done = false;
  private resolveEnded!: () => void;
  /** Set only while a log healthcheck watches this process: no cost on the hot path otherwise. */
  observer: OutputObserver | undefined;
  /** Resolves when the pipe reached EOF and its last line was written. */
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  /** What is read: the given stream, or a socket on the claimed fd that reads into the shared buffer. */
  readonly stream: Readable;

  constructor(
    readonly name: string,
    readonly streamName: StreamName,
    from: Readable | number,
    readonly splitter: LineSplitter,
    /** Where its lines are rendered: the output buffer of ringmaster's matching stream. */
    private readonly out: OutBuffer,
    private readonly idleMs: number,
    private readonly copies: { logFile?: LogFile; tail: TailBuffer },
  ) {
    if (typeof from !== 'number') {
      this.stream = from;
      from.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      return;
    }
    readBuffer ??= Buffer.allocUnsafeSlow(64 * 1024);
    // `onread` is documented (net.Socket options) but missing from @types/node's constructor type.
    const options = { fd: from, readable: true, writable: false, onread: { buffer: readBuffer, callback: (n: number, buf: Buffer) => this.onRead(n, buf) } };
    this.stream = new Socket(options as ConstructorParameters<typeof Socket>[0]);
  }

  /** A read into the shared buffer; false pauses the pipe (it rests until the next tick). */
  private onRead(n: number, buf: Buffer): boolean {
    this.onData(buf.subarray(0, n));
    if (n === buf.length) return true; // more is waiting: keep reading
    const now = performance.now();
    const busy = now - this.lastReadAt < COALESCE_MS;
    this.lastReadAt = now;
    if (!busy || this.held || this.done) return true;
    this.resting = true;
    resting.add(this);
    tick ??= setTimeout(wakeResting, COALESCE_MS);
    return false;
  }

  /** The coalescing tick: read again, unless the sink holds this pipe. */
  wake(): void {
    this.resting = false;
    if (!this.held && !this.done) this.stream.resume();
  }

  onData(chunk: Buffer): void {
    this.copies.logFile?.write(chunk);
    this.copies.tail.write(chunk);
    if (this.observer) this.observer(this.streamName, chunk);
    this.splitter.push(chunk, this.out);
    this.armIdle();
  }

  flush(): void {
    this.clearIdle();
    this.splitter.flush(this.out);
  }

  finish(): void {
    this.done = true;
    resting.delete(this);
    this.resolveEnded();
  }

  hold(): void {
    if (this.done) return;
    this.held = true;
    this.clearIdle(); // a line is not "idle" because we stopped reading it
    this.stream.pause();
  }

  release(): void {
    if (!this.held || this.done) return;
    this.held = false;
    if (!this.resting) this.stream.resume();
    this.armIdle();
  }

  private armIdle(): void {
    if (!this.splitter.hasPartial || this.held) return this.clearIdle();
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.idleMs);
  }

  clearIdle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
