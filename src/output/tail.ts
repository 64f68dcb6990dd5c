/**
 * The last `capacity` bytes a program wrote to one stream, for `ctl tail` and the APIs, with the
 * count of all bytes ever written. It keeps references to the most recent chunks instead of
 * copying them (a copy of every chunk would cost the output hot path a full memcpy); Node hands
 * each read its own right-sized buffer, so nothing beyond the kept chunks is retained.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes ever written. */
  total = 0;
  private followers = new Set<(chunk: Buffer) => void>();

  constructor(readonly capacity = 64 * 1024) {}

  /** Receive every chunk written from now on (`ctl tail -f`); returns the unsubscribe. */
  follow(listener: (chunk: Buffer) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  write(chunk: Buffer): void {
    this.total += chunk.length;
    for (const f of this.followers) f(chunk);
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0].length >= this.capacity) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** Forget everything (clearProcessLogs): offsets start again at 0. */
  clear(): void {
    this.chunks = [];
    this.size = 0;
    this.total = 0;
  }

  /**
   * Bytes [from, to) of everything ever written, as far as they are still held: the stream is a
   * file whose size is `total` and whose beginning was cut away (Supervisor's readLog offsets).
   */
  slice(from: number, to: number): Buffer {
    const start = Math.max(from, this.total - this.size);
    const end = Math.min(to, this.total);
    if (end <= start) return Buffer.alloc(0);
    const held = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const base = this.total - this.size;
    return Buffer.from(held.subarray(start - base, end - base));
  }

  /** The last `bytes` bytes still held, at most `capacity` (all of them when omitted). */
  last(bytes = this.capacity): Buffer {
    const n = Math.min(bytes, this.capacity, this.size);
    if (n === 0) return Buffer.alloc(0);
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    return Buffer.from(all.subarray(all.length - n));
  }
}
