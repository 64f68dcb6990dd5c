import { isUtf8 } from 'node:buffer';
import type { StreamName } from './types';

export interface FormatOptions {
  color: boolean;
  timestamps: boolean;
  json: boolean;
}

/**
 * How one producer's lines look, decided once per producer. Text mode writes `prefix()` before
 * each line of a chunk (so it is evaluated per chunk, not per line); JSON mode builds each line.
 */
export interface LineFormat {
  prefix(): Buffer;
  line?(src: Buffer, start: number, end: number): Buffer;
}

const PALETTE = [36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91];

export function colorFor(index: number): number {
  return PALETTE[index % PALETTE.length];
}

/** RFC 3339 with milliseconds, UTC; the string is reused within the same millisecond. */
let lastMs = 0;
let lastIso = '';
export function timestamp(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

export function makeFormat(name: string, stream: StreamName, width: number, color: number | null, opts: FormatOptions): LineFormat {
  if (opts.json) {
    const head = `,"program":${JSON.stringify(name)},"stream":"${stream}","line":`;
    return {
      prefix: () => Buffer.alloc(0),
      line: (src, start, end) => Buffer.from(`{"time":"${timestamp()}"${head}${jsonBytes(src.subarray(start, end))}}\n`),
    };
  }
  const padded = name.padEnd(width);
  const fixed = Buffer.from(color === null ? `${padded} | ` : `\x1b[${color}m${padded}\x1b[0m | `);
  if (!opts.timestamps) return { prefix: () => fixed };
  let ms = '';
  let cached = fixed;
  return {
    prefix: () => {
      const ts = timestamp();
      if (ts !== ms) {
        ms = ts;
        cached = Buffer.concat([Buffer.from(ts + ' '), fixed]);
      }
      return cached;
    },
  };
}

/**
 * A JSON string for any bytes. Valid UTF-8 is written as text; each byte of an invalid sequence
 * becomes the lone surrogate \udcXX (Python's "surrogateescape"), so the exact bytes round-trip:
 * `json.loads(s).encode('utf-8', 'surrogateescape')`.
 */
export function jsonBytes(bytes: Buffer): string {
  if (isUtf8(bytes)) return JSON.stringify(bytes.toString('utf8'));
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n > 0 && i + n <= bytes.length && isUtf8(bytes.subarray(i, i + n))) {
      text += bytes.toString('utf8', i, i + n);
      i += n;
    } else {
      text += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return JSON.stringify(text);
}
