import { StringDecoder } from 'node:string_decoder';
import { linearRegExp } from '../config/linear-regexp';
import type { OutputObserver, StreamName } from '../output/types';

/** A partial line longer than this is tested and dropped (the output splits lines at 64 KiB too). */
const MAX_PARTIAL = 64 * 1024;
/**
 * Only the start of a line is tested: even in linear time, a pattern like `.*.*.*x` costs ~1 s
 * on a 64 KiB line in V8's linear engine, and this runs on PID 1's event loop.
 */
export const MAX_TESTED = 4096;

/** `pattern` recompiled for V8's linear-time engine; the config refused patterns it cannot run. */
function linear(pattern: RegExp): RegExp {
  try {
    return linearRegExp(pattern.source, pattern.flags);
  } catch {
    return pattern;
  }
}

/**
 * An output observer for a `log` healthcheck: splits each stream into whole lines (UTF-8 safe,
 * a line may span chunks) and calls `onMatch` with the first line `pattern` matches. Only a
 * process with a log check has one, and it is removed once it matched.
 */
export function watchLog(given: RegExp, onMatch: (line: string) => void): OutputObserver {
  const pattern = linear(given);
  const partial: Record<StreamName, string> = { stdout: '', stderr: '' };
  const decoders: Record<StreamName, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  let matched = false;
  const test = (line: string) => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (matched || !pattern.test(text.length > MAX_TESTED ? text.slice(0, MAX_TESTED) : text)) return;
    matched = true;
    onMatch(line.trimEnd());
  };
  return (stream, chunk) => {
    if (matched) return;
    const text = partial[stream] + decoders[stream].write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1 && !matched; nl = text.indexOf('\n', start)) {
      test(text.slice(start, nl));
      start = nl + 1;
    }
    partial[stream] = text.slice(start);
    if (partial[stream].length > MAX_PARTIAL) {
      test(partial[stream]);
      partial[stream] = '';
    }
  };
}
