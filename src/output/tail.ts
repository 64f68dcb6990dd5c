/** Smallest ring allocated; it doubles as output arrives, up to the capacity. */
const FIRST_RING = 4096;

/**
 * The last `capacity` bytes a program wrote to one stream, for `ctl tail` and the APIs, with the
 * count of all bytes ever written. One ring buffer, allocated lazily (a silent stream costs
 * nothing) and grown by doubling up to the capacity. Each chunk is copied in once: keeping
 * references to the pipe's chunks instead cost far more than the bytes when a program writes
 * line by line (an ArrayBuffer and its backing store per 100-byte chunk: issue #17).
 */
export class TailBuffer {
  private ring: Buffer | undefined;
  /** Where the next byte goes. */
  private end = 0;
  /** Bytes held, at most the ring's length. */
  private size = 0;
  /** Bytes ever written. */
  total = 0;
  private followers = new Set<(chunk: Buffer) => void>();

  constructor(readonly capacity = 64 * 1024) {}

  /** Receive (a copy of) every chunk written from now on (`ctl tail -f`); returns the unsubscribe. */
  follow(listener: (chunk: Buffer) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  write(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    this.total += n;
    if (this.followers.size > 0) {
      // Followers may keep it (a queued HTTP write); `chunk` may be a reused read buffer.
      const copy = Buffer.from(chunk);
      for (const f of this.followers) f(copy);
    }
    if (this.capacity === 0) return;
    const src = n > this.capacity ? chunk.subarray(n - this.capacity) : chunk;
    const ring = this.roomFor(src.length);
    const first = Math.min(src.length, ring.length - this.end);
    src.copy(ring, this.end, 0, first);
    if (first < src.length) src.copy(ring, 0, first);
    this.end = (this.end + src.length) % ring.length;
    this.size = Math.min(ring.length, this.size + src.length);
  }

  /** The ring, grown if it is below capacity and `n` more bytes would not fit. */
  private roomFor(n: number): Buffer {
    const ring = this.ring;
    if (ring && (ring.length === this.capacity || this.size + n <= ring.length)) return ring;
    let length = ring ? ring.length : Math.min(FIRST_RING, this.capacity);
    while (length < this.size + n && length < this.capacity) length = Math.min(length * 2, this.capacity);
    const next = Buffer.allocUnsafeSlow(length);
    // Below capacity the ring never wrapped: what it holds is [0, size).
    if (ring) ring.copy(next, 0, 0, this.size);
    this.ring = next;
    this.end = this.size % length;
    return next;
  }

  /** Forget everything (clearProcessLogs): offsets start again at 0, the memory is released. */
  clear(): void {
    this.ring = undefined;
    this.end = 0;
    this.size = 0;
    this.total = 0;
  }

  /**
   * Bytes [from, to) of everything ever written, as far as they are still held: the stream is a
   * file whose size is `total` and whose beginning was cut away (Supervisor's readLog offsets).
   */
  slice(from: number, to: number): Buffer {
    const base = this.total - this.size;
    const start = Math.max(from, base);
    const end = Math.min(to, this.total);
    if (end <= start) return Buffer.alloc(0);
    return this.copyOut(start - base, end - base);
  }

  /** The last `bytes` bytes still held, at most `capacity` (all of them when omitted). */
  last(bytes = this.capacity): Buffer {
    const n = Math.min(bytes, this.capacity, this.size);
    if (n === 0) return Buffer.alloc(0);
    return this.copyOut(this.size - n, this.size);
  }

  /** A copy of held bytes [from, to), counted from the oldest held byte. */
  private copyOut(from: number, to: number): Buffer {
    const ring = this.ring!;
    const out = Buffer.allocUnsafe(to - from);
    const oldest = (this.end - this.size + ring.length) % ring.length;
    let at = (oldest + from) % ring.length;
    let written = 0;
    while (written < out.length) {
      const run = Math.min(out.length - written, ring.length - at);
      ring.copy(out, written, at, at + run);
      written += run;
      at = 0;
    }
    return out;
  }
}
