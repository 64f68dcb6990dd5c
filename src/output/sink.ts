import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { OutBuffer } from './out-buffer';

/**
 * ringmaster's own lines cannot be paused like a program's pipe: while the reader is stalled they
 * wait here, the newest kept up to this many bytes, the older ones counted and dropped (a
 * fast-flapping program queued 7.8 MB of them in 62 s, without bound; issue #12, 16).
 */
export const HELD_SYSTEM_BYTES = 256 * 1024;

/**
 * Whether `stream` is done with a chunk when its write callback runs: a socket, pipe or TTY (the
 * kernel has the bytes) or a file stream with an fd (process.stdout on a file writes synchronously).
 */
function writesToOs(stream: Writable): boolean {
  return stream instanceof Socket || typeof (stream as { fd?: unknown }).fd === 'number';
}

/** What a sink pauses while its reader is stalled: the programs' pipes that write to it. */
export interface Producer {
  hold(): void;
  release(): void;
}

/** One of ringmaster's two streams, and the producers that write to it. */
export class Sink<P extends Producer = Producer> {
  /** Lines are rendered into this; it writes to the stream once per turn of the event loop. */
  readonly out: OutBuffer;
  readonly sources = new Set<P>();
  private blocked = false;
  /** The reader went away (EPIPE) or the stream was destroyed: nothing can be written any more. */
  private dead = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private dropped = 0;
  /** The line that says how many of ringmaster's own lines were dropped. */
  dropNotice: (count: number) => Buffer = (count) => Buffer.from(`${count} lines dropped\n`);

  private readonly onDrain = () => {
    this.blocked = false;
    this.writeHeld();
    this.out.flush();
    if (this.blocked) return; // the held lines filled the stream again: producers stay paused
    for (const s of this.sources) s.release();
  };

  private readonly onGone = () => {
    if (this.dead) return;
    // Held producers would wait for a 'drain' that never comes and block on their own pipes:
    // let them run, their lines are dropped (tail and log files still get them).
    this.dead = true;
    this.stream.off('drain', this.onDrain);
    this.onDrain();
  };

  constructor(
    readonly stream: Writable,
    /** Once per turn of the event loop that wrote something. */
    private readonly onActivity: () => void,
  ) {
    this.out = new OutBuffer((filled, done) => this.emit(filled, done), setImmediate, writesToOs(stream));
    // A reader that went away (EPIPE) must not take the supervisor down.
    stream.on('error', this.onGone);
    stream.on('close', this.onGone);
  }

  private emit(filled: Buffer, done: () => void): void {
    this.onActivity();
    if (this.dead) return done();
    if (this.stream.write(filled, done) || this.blocked || this.dead) return;
    // Backpressure: hold every producer of this stream until the reader catches up. What was
    // accepted stays queued in the Writable (at most a turn's output, and system lines).
    this.blocked = true;
    for (const s of this.sources) s.hold();
    this.stream.once('drain', this.onDrain);
  }

  /** A finished line (or lines), in order with everything rendered into `out` before it. */
  write(buf: Buffer): void {
    if (!this.dead) this.out.append(buf);
  }

  /** The held lines (and how many were dropped before them) go to the stream, in order. */
  private writeHeld(): void {
    if (this.held.length === 0 && this.dropped === 0) return;
    const lines = this.held;
    const dropped = this.dropped;
    this.held = [];
    this.heldBytes = 0;
    this.dropped = 0;
    if (dropped > 0) this.write(this.dropNotice(dropped));
    for (const line of lines) this.write(line);
  }

  /** One of ringmaster's own lines: written, or held (bounded, newest kept) while the reader is stalled. */
  writeSystem(buf: Buffer): void {
    if (this.dead) return;
    if (!this.blocked) return this.write(buf);
    this.held.push(buf);
    this.heldBytes += buf.length;
    let drop = 0;
    while (this.heldBytes > HELD_SYSTEM_BYTES && drop < this.held.length - 1) this.heldBytes -= this.held[drop++].length;
    if (drop > 0) {
      this.held.splice(0, drop);
      this.dropped += drop;
    }
  }

  /** Write out what is buffered now (at exit there is no next turn of the event loop). */
  flushNow(): void {
    this.out.flush();
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Resolves when everything written so far was handed to the OS (or can never be). */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.dead || this.stream.destroyed || this.stream.writableEnded) return resolve();
      this.writeHeld(); // at the end, ringmaster's last lines are queued behind the rest
      this.out.flush();
      // Writes complete in order: the callback of an empty write comes after all earlier ones.
      this.stream.write('', () => resolve());
    });
  }

  /**
   * Stop listening to the stream (close of the Output). The 'error' listener stays on purpose:
   * an EPIPE on process.stdout after close() would otherwise crash ringmaster while it exits.
   */
  detach(): void {
    this.stream.off('drain', this.onDrain);
    this.stream.off('close', this.onGone);
  }
}
