/** Size of one output buffer: several programs' 64 KiB reads, prefixed, fit in one. */
export const OUT_BUFFER_BYTES = 256 * 1024;
/** Buffers kept for reuse once their write completed. */
const SPARES = 2;
/** Output at least this big goes out as it is, not copied into a buffer. */
const DIRECT_BYTES = 64 * 1024;

/**
 * The bytes one of ringmaster's streams writes in one turn of the event loop. Lines are rendered
 * straight into it (no Buffer per chunk or line, issue #17), and once per turn its filled part
 * goes out in one write; the buffer is reused when that write completed. A buffer that fills up
 * goes out at once and the next one is started, so one write never exceeds OUT_BUFFER_BYTES
 * unless a single piece of output does.
 */
export class OutBuffer {
  private buf: Buffer | undefined;
  private used = 0;
  private scheduled = false;
  private readonly spares: Buffer[] = [];
  private readonly flushTurn = () => {
    this.scheduled = false;
    this.flush();
  };

  /**
   * @param emit writes `filled` (called in order); `done` once it was handed to the OS or dropped.
   * @param schedule runs its argument after this turn's I/O (setImmediate; tests may flush by hand).
   * @param reuse whether a buffer may be reused once `done` was called: only when the writer
   *   copied it out by then (a socket, pipe or file; not a PassThrough, which keeps it).
   */
  constructor(
    private readonly emit: (filled: Buffer, done: () => void) => void,
    private readonly schedule: (flush: () => void) => void = setImmediate,
    private readonly reuse = true,
  ) {}

  /** Room for `n` bytes at the returned offset of `buffer`, which the caller fills at once. */
  reserve(n: number): number {
    if (!this.buf || this.used + n > this.buf.length) this.next(n);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.flushTurn);
    }
    const at = this.used;
    this.used += n;
    return at;
  }

  /** The buffer `reserve` made room in. */
  get buffer(): Buffer {
    return this.buf!;
  }

  /** A finished piece of output, in order with what was reserved before. */
  append(src: Buffer): void {
    if (src.length === 0) return;
    if (src.length >= DIRECT_BYTES) {
      this.flush();
      this.emit(src, () => {});
      return;
    }
    const at = this.reserve(src.length);
    src.copy(this.buf!, at);
  }

  /** Write out what is filled now (end of a turn, exit, or before a write that must follow it). */
  flush(): void {
    const buf = this.buf;
    if (!buf || this.used === 0) return;
    const filled = buf.subarray(0, this.used);
    this.buf = undefined;
    this.used = 0;
    this.emit(filled, () => this.recycle(buf));
  }

  /** Drop the spare buffers (ringmaster went quiet: give the memory back). */
  release(): void {
    this.spares.length = 0;
  }

  private next(n: number): void {
    this.flush();
    this.buf = n <= OUT_BUFFER_BYTES ? (this.spares.pop() ?? Buffer.allocUnsafeSlow(OUT_BUFFER_BYTES)) : Buffer.allocUnsafeSlow(n);
  }

  private recycle(buf: Buffer): void {
    if (this.reuse && buf.length === OUT_BUFFER_BYTES && this.spares.length < SPARES) this.spares.push(buf);
  }
}
