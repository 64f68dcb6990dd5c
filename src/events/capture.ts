import { Transform, type TransformCallback } from 'node:stream';

const BEGIN = Buffer.from('<!--XSUPERVISOR:BEGIN-->');
const END = Buffer.from('<!--XSUPERVISOR:END-->');

/**
 * Supervisor's capture mode (reference §4.4, dispatchers.py POutputDispatcher): what a program
 * writes between `<!--XSUPERVISOR:BEGIN-->` and `<!--XSUPERVISOR:END-->` is taken out of its
 * output and handed to `onCaptured` (a PROCESS_COMMUNICATION event), keeping at most `maxBytes`
 * of it (the oldest bytes dropped). Tokens may be split across reads. Unlike supervisord, output
 * that cannot be part of a token is passed on at once; only a possible token prefix at the end of
 * a read waits for the next one (or the end of the stream).
 */
export class CaptureFilter extends Transform {
  private capturing = false;
  private pending: Buffer = Buffer.alloc(0);
  private captured: Buffer[] = [];
  private capturedBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onCaptured: (data: Buffer) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    for (;;) {
      const token = this.capturing ? END : BEGIN;
      const at = data.indexOf(token);
      if (at < 0) {
        const keep = prefixAtEnd(data, token);
        this.emitData(data.subarray(0, data.length - keep));
        this.pending = Buffer.from(data.subarray(data.length - keep));
        break;
      }
      this.emitData(data.subarray(0, at));
      data = data.subarray(at + token.length);
      if (this.capturing) this.finishCapture();
      this.capturing = !this.capturing;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.emitData(this.pending);
    this.pending = Buffer.alloc(0);
    done();
  }

  private emitData(data: Buffer): void {
    if (data.length === 0) return;
    if (!this.capturing) {
      this.push(Buffer.from(data));
      return;
    }
    this.captured.push(Buffer.from(data));
    this.capturedBytes += data.length;
    while (this.capturedBytes > this.maxBytes && this.captured.length > 0) {
      const over = this.capturedBytes - this.maxBytes;
      const first = this.captured[0];
      if (first.length <= over) {
        this.captured.shift();
        this.capturedBytes -= first.length;
      } else {
        this.captured[0] = first.subarray(over);
        this.capturedBytes -= over;
      }
    }
  }

  private finishCapture(): void {
    const data = Buffer.concat(this.captured);
    this.captured = [];
    this.capturedBytes = 0;
    this.onCaptured(data);
  }
}

/** The length of the longest proper prefix of `token` that `data` ends with. */
function prefixAtEnd(data: Buffer, token: Buffer): number {
  for (let n = Math.min(token.length - 1, data.length); n > 0; n--) {
    if (data.subarray(data.length - n).equals(token.subarray(0, n))) return n;
  }
  return 0;
}
