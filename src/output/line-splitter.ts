import type { LineFormat } from './format';
import type { OutBuffer } from './out-buffer';

/** Slices a partial line may be held in before they are joined (a producer that dribbles bytes). */
const MAX_PENDING_SLICES = 64;

/**
 * Turns a producer's chunks into whole prefixed lines, written into an OutBuffer. A line is
 * never cut below `maxLine` bytes; a longer one becomes pieces of at most `maxLine` bytes, cut
 * at a UTF-8 character boundary. The tail of a chunk without a newline waits in `pending` (a list
 * of copied slices: a chunk may be a reused read buffer), bounded by `maxLine`. Bytes stay
 * bytes: '\r', invalid UTF-8 and everything else pass through as they came.
 */
/**
 * The native addon's render of a chunk's lines (native/ringmaster.c), handed in by whoever
 * creates the output: one pass of memchr and memcpy instead of two JS loops per line. Without
 * it (unit tests), the JS render below does the same.
 */
export interface NativeLines {
  /** Lines of chunk[from..to), or -1 if one is longer than maxLine. */
  countLines(chunk: Buffer, from: number, to: number, maxLine: number): number;
  /** Writes prefix + line for each line of chunk[from..to) into out at `at`; the bytes written, or -1 if they do not fit. */
  prefixLines(chunk: Buffer, from: number, to: number, prefix: Buffer, out: Buffer, at: number): number;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(
    private format: LineFormat,
    private readonly maxLine: number,
    private readonly native?: NativeLines,
  ) {}

  setFormat(format: LineFormat): void {
    this.format = format;
  }

  get hasPartial(): boolean {
    return this.pendingLength > 0;
  }

  /** Writes everything `chunk` completes to `out`; the rest waits for the next chunk. */
  push(chunk: Buffer, out: OutBuffer): void {
    const first = chunk.indexOf(10);
    if (first < 0) {
      this.keep(chunk);
      if (this.pendingLength > this.maxLine) this.cutOverlong(out);
      return;
    }
    const last = chunk.lastIndexOf(10);
    this.render(chunk, first, last, out);
    this.pending = [];
    this.pendingLength = 0;
    if (last + 1 < chunk.length) this.keep(chunk.subarray(last + 1));
    // A chunk longer than maxLine ended in a long partial line: its full pieces go out now.
    if (this.pendingLength > this.maxLine) this.cutOverlong(out);
  }

  /** Writes the partial line as a line of its own (idle flush or end of stream), if there is one. */
  flush(out: OutBuffer): void {
    if (this.pendingLength === 0) return;
    const line = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    // pendingLength never stays above maxLine (cutOverlong), so this is one piece.
    this.renderPiece(line, 0, line.length, out);
  }

  private keep(slice: Buffer): void {
    this.pending.push(Buffer.from(slice));
    this.pendingLength += slice.length;
    if (this.pending.length > MAX_PENDING_SLICES) this.pending = [Buffer.concat(this.pending, this.pendingLength)];
  }

  /** A partial line past maxLine is written out in full pieces now; the rest keeps waiting. */
  private cutOverlong(out: OutBuffer): void {
    const all = Buffer.concat(this.pending, this.pendingLength);
    let start = 0;
    while (all.length - start > this.maxLine) {
      const end = cutPoint(all, start, this.maxLine);
      this.renderPiece(all, start, end, out);
      start = end;
    }
    const rest = all.subarray(start);
    this.pending = rest.length ? [rest] : [];
    this.pendingLength = rest.length;
  }

  /**
   * The lines `chunk` completes, written into `to` in one piece: first the pending partial line
   * completed by chunk[0..first], then every line of chunk[first+1..last] (`first` and `last` are
   * its first and last '\n'), each behind its prefix.
   */
  private render(chunk: Buffer, first: number, last: number, to: OutBuffer): void {
    if (this.native && !this.format.line && this.renderNative(chunk, first, last, to, this.native)) return;
    const headLength = this.pendingLength + first;
    let lines = 0;
    let longest = headLength;
    lineEnds[lines++] = first;
    // One pass finds the line ends (kept in a reused array), the second only copies.
    for (let s = first + 1; s <= last; ) {
      const nl = chunk.indexOf(10, s);
      if (lines === lineEnds.length) lineEnds = growInt32(lineEnds);
      lineEnds[lines++] = nl;
      if (nl - s > longest) longest = nl - s;
      s = nl + 1;
    }
    if (this.format.line || longest > this.maxLine) return this.renderSlow(chunk, lines, to);

    const prefix = this.format.prefix();
    const p = prefix.length;
    const size = lines * p + this.pendingLength + last + 1;
    let o = to.reserve(size);
    const out = to.buffer;
    // One native copy of chunk[0..last] to the end of the reserved room, then each line slides
    // left to its place behind its prefix with copyWithin (a memmove with no allocation;
    // Buffer#copy makes a typed-array view per call). A line's destination is never right of its
    // source, so sliding never overwrites a line not yet moved; the pending bytes land left of
    // all of them.
    const base = o + size - (last + 1);
    chunk.copy(out, base, 0, last + 1);
    let s = 0;
    for (let i = 0; i < lines; i++) {
      const nl = lineEnds[i];
      for (let k = 0; k < p; k++) out[o + k] = prefix[k];
      o += p;
      if (i === 0) for (const piece of this.pending) o += piece.copy(out, o);
      out.copyWithin(o, base + s, base + nl);
      o += nl - s;
      out[o++] = 10;
      s = nl + 1;
    }
  }

  /**
   * render() through the addon: the first line (the pending bytes and chunk[0..first]) here, the
   * others in one native call. False, with nothing written, when a line is past maxLine.
   */
  private renderNative(chunk: Buffer, first: number, last: number, to: OutBuffer, native: NativeLines): boolean {
    if (this.pendingLength + first > this.maxLine) return false;
    const rest = native.countLines(chunk, first + 1, last + 1, this.maxLine);
    if (rest < 0) return false;
    const prefix = this.format.prefix();
    const headSize = prefix.length + this.pendingLength + first + 1;
    const size = headSize + rest * prefix.length + (last - first);
    let o = to.reserve(size);
    const out = to.buffer;
    o += prefix.copy(out, o);
    for (const piece of this.pending) o += piece.copy(out, o);
    o += chunk.copy(out, o, 0, first + 1);
    if (native.prefixLines(chunk, first + 1, last + 1, prefix, out, o) !== size - headSize) throw new Error('native prefixLines: the lines did not fit their reserved room');
    return true;
  }

  /** JSON lines, or a chunk with a line past maxLine: built piece by piece (rare or inherent). */
  private renderSlow(chunk: Buffer, lines: number, to: OutBuffer): void {
    let s = 0;
    for (let i = 0; i < lines; i++) {
      const nl = lineEnds[i];
      let src = chunk;
      let a = s;
      let end = nl;
      if (i === 0 && this.pendingLength > 0) {
        src = Buffer.concat([...this.pending, chunk.subarray(0, nl)], this.pendingLength + nl);
        end = src.length;
      }
      while (end - a > this.maxLine) {
        const cut = cutPoint(src, a, this.maxLine);
        this.renderPiece(src, a, cut, to);
        a = cut;
      }
      this.renderPiece(src, a, end, to);
      s = nl + 1;
    }
  }

  /** One line src[start..end) (no '\n' in it) with its prefix and a '\n'. */
  private renderPiece(src: Buffer, start: number, end: number, to: OutBuffer): void {
    if (this.format.line) return to.append(this.format.line(src, start, end));
    const prefix = this.format.prefix();
    let o = to.reserve(prefix.length + (end - start) + 1);
    const out = to.buffer;
    o += prefix.copy(out, o);
    o += src.copy(out, o, start, end);
    out[o] = 10;
  }
}

/** Where to cut a piece of at most `max` bytes from `start` without splitting a UTF-8 sequence. */
export function cutPoint(buf: Buffer, start: number, max: number): number {
  const end = start + max;
  if (end >= buf.length) return buf.length;
  // buf[end] is the first byte of the next piece: it must not be a continuation byte (10xxxxxx).
  // A character is at most 4 bytes; anything longer is invalid UTF-8 and is cut at `max`.
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
