/**
 * The last `capacity` bytes a program wrote to one stream, for `ctl tail` and the APIs: a ring
 * buffer with a running total, so readers can ask from an offset as Supervisor's readLog does.
 */
export class TailBuffer {
  // Grown on demand (linear until it reaches capacity): most programs print little, and 100
  // programs x 2 streams x 64 KiB allocated up front would be 12 MB of RSS.
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private length = 0;
  /** Bytes ever written. */
  total = 0;
  private followers = new Set<(chunk: Buffer) => void>();

  /** Receive every chunk written from now on (`ctl tail -f`); returns the unsubscribe. */
  follow(listener: (chunk: Buffer) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  constructor(readonly capacity = 64 * 1024) {}

  private grow(needed: number): void {
    let size = Math.max(this.buf.length * 2, 4096);
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(size, this.capacity));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  write(chunk: Buffer): void {
    this.total += chunk.length;
    for (const f of this.followers) f(chunk);
    if (this.buf.length < this.capacity && this.length + chunk.length > this.buf.length) {
      this.grow(this.length + chunk.length);
    }
    const cap = this.buf.length;
    if (chunk.length >= cap) {
      chunk.copy(this.buf, 0, chunk.length - cap);
      this.start = 0;
      this.length = cap;
      return;
    }
    let end = (this.start + this.length) % cap;
    const first = Math.min(chunk.length, cap - end);
    chunk.copy(this.buf, end, 0, first);
    chunk.copy(this.buf, 0, first);
    end = (end + chunk.length) % cap;
    const overflow = this.length + chunk.length - cap;
    if (overflow > 0) {
      this.start = (this.start + overflow) % cap;
      this.length = cap;
    } else this.length += chunk.length;
  }

  /** The last `bytes` bytes still held (all of them when bytes is omitted). */
  last(bytes = this.length): Buffer {
    const n = Math.min(bytes, this.length);
    const cap = this.buf.length;
    if (n === 0) return Buffer.alloc(0);
    const from = (this.start + this.length - n) % cap;
    if (from + n <= cap) return Buffer.from(this.buf.subarray(from, from + n));
    return Buffer.concat([this.buf.subarray(from), this.buf.subarray(0, n - (cap - from))]);
  }
}
