import { StringDecoder } from 'node:string_decoder';
import type { OutputObserver, StreamName } from '../output/types';

/** A partial line longer than this is tested and dropped (the output splits lines at 64 KiB too). */
const MAX_PARTIAL = 64 * 1024;

/**
 * An output observer for a `log` healthcheck: splits each stream into whole lines (UTF-8 safe,
 * a line may span chunks) and calls `onMatch` with the first line `pattern` matches. Only a
 * process with a log check has one, and it is removed once it matched.
 */
export function watchLog(pattern: RegExp, onMatch: (line: string) => void): OutputObserver {
  const partial: Record<StreamName, string> = { stdout: '', stderr: '' };
  const decoders: Record<StreamName, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  let matched = false;
  const test = (line: string) => {
    if (matched || !pattern.test(line.endsWith('\r') ? line.slice(0, -1) : line)) return;
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
