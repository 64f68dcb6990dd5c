import type { LineFormat } from './format';

/**
 * Turns a producer's chunks into whole prefixed lines, one output Buffer per chunk. A line is
 * never cut below `maxLine` bytes; a longer one becomes pieces of at most `maxLine` bytes, cut
 * at a UTF-8 character boundary. The tail of a chunk without a newline waits in `pending` (a list
 * of slices, concatenated once), bounded by `maxLine`.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(
    private format: LineFormat,
    private readonly maxLine: number,
  ) {}

  setFormat(format: LineFormat): void {
    this.format = format;
  }

  get hasPartial(): boolean {
    return this.pendingLength > 0;
  }

  /** Everything `chunk` completes, ready to write (null when nothing is complete yet). */
  push(chunk: Buffer): Buffer | null {
    const out: Buffer[] = [];
    let pos = 0;
    if (this.pendingLength > 0) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.keep(chunk);
        return this.drainOverlong(out);
      }
      const head = Buffer.concat([...this.pending, chunk.subarray(0, nl)], this.pendingLength + nl);
      this.pending = [];
      this.pendingLength = 0;
      out.push(this.render(head, 0, head.length));
      pos = nl + 1;
    }
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl >= pos) out.push(this.render(chunk, pos, lastNl + 1));
    const tail = lastNl >= pos ? lastNl + 1 : pos;
    if (tail < chunk.length) this.keep(chunk.subarray(tail));
    return this.drainOverlong(out);
  }

  /** The partial line as a line of its own (idle flush or end of stream), or null. */
  flush(): Buffer | null {
    if (this.pendingLength === 0) return null;
    const line = Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    return this.render(line, 0, line.length);
  }

  private keep(slice: Buffer): void {
    this.pending.push(slice);
    this.pendingLength += slice.length;
  }

  /** A partial line past maxLine is written out in full pieces now; the rest keeps waiting. */
  private drainOverlong(out: Buffer[]): Buffer | null {
    if (this.pendingLength > this.maxLine) {
      const all = Buffer.concat(this.pending, this.pendingLength);
      let start = 0;
      while (all.length - start > this.maxLine) {
        const end = cutPoint(all, start, this.maxLine);
        out.push(this.renderPiece(all, start, end));
        start = end;
      }
      const rest = all.subarray(start);
      this.pending = rest.length ? [rest] : [];
      this.pendingLength = rest.length;
    }
    if (out.length === 0) return null;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /**
   * Complete lines src[start..end) (the region ends with '\n' unless it is one line being
   * flushed) into one Buffer: a prefix before each line, long lines cut into pieces.
   */
  private render(src: Buffer, start: number, end: number): Buffer {
    if (this.format.line) return this.renderSlow(src, start, end);
    const prefix = this.format.prefix();
    const p = prefix.length;
    // One pass finds the line ends (kept in a reused array), the second only copies.
    let lines = 0;
    let longest = 0;
    for (let s = start; s < end; ) {
      let nl = src.indexOf(10, s);
      if (nl < 0 || nl >= end) nl = end;
      if (lines === lineEnds.length) lineEnds = growInt32(lineEnds);
      lineEnds[lines++] = nl;
      if (nl - s > longest) longest = nl - s;
      s = nl + 1;
    }
    if (lines === 0) return Buffer.alloc(0);
    if (longest > this.maxLine) return this.renderSlow(src, start, end);
    const regionEnd = lineEnds[lines - 1];
    const size = lines * (p + 1) + (regionEnd - start) - (lines - 1);
    const out = Buffer.allocUnsafe(size);
    // One native copy of the whole region to the end of `out`, then each line slides left to its
    // place behind its prefix with copyWithin (a memmove with no allocation; Buffer#copy makes a
    // typed-array view per call). Sliding left never overwrites a line not yet moved.
    const base = size - (regionEnd - start) - (regionEnd < end ? 1 : 0);
    src.copy(out, base, start, Math.min(end, regionEnd + 1));
    let o = 0;
    let s = start;
    for (let i = 0; i < lines; i++) {
      const nl = lineEnds[i];
      for (let k = 0; k < p; k++) out[o + k] = prefix[k];
      o += p;
      out.copyWithin(o, base + (s - start), base + (nl - start));
      o += nl - s;
      out[o++] = 10;
      s = nl + 1;
    }
    return out;
  }

  private renderSlow(src: Buffer, start: number, end: number): Buffer {
    const parts: Buffer[] = [];
    for (let s = start; s < end; ) {
      let nl = src.indexOf(10, s);
      if (nl < 0 || nl >= end) nl = end;
      let a = s;
      while (nl - a > this.maxLine) {
        const cut = cutPoint(src, a, this.maxLine);
        parts.push(this.renderPiece(src, a, cut));
        a = cut;
      }
      parts.push(this.renderPiece(src, a, nl));
      s = nl + 1;
    }
    return Buffer.concat(parts);
  }

  private renderPiece(src: Buffer, start: number, end: number): Buffer {
    if (this.format.line) return this.format.line(src, start, end);
    const prefix = this.format.prefix();
    const out = Buffer.allocUnsafe(prefix.length + (end - start) + 1);
    let o = prefix.copy(out, 0);
    o += src.copy(out, o, start, end);
    out[o] = 10;
    return out;
  }
}

/** Where to cut a piece of at most `max` bytes from `start` without splitting a UTF-8 sequence. */
export function cutPoint(buf: Buffer, start: number, max: number): number {
  let end = start + max;
  if (end >= buf.length) return buf.length;
  // buf[end] is the first byte of the next piece: it must not be a continuation byte (10xxxxxx).
  let back = end;
  while (back > start && back > end - 4 && (buf[back] & 0xc0) === 0x80) back--;
  return back > start && (buf[back] & 0xc0) !== 0x80 ? back : end;
}

let lineEnds: Int32Array = new Int32Array(4096);
function growInt32(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
