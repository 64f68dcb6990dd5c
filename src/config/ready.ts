// SPEC §10 readiness from the program itself: `ready:` (notify | fd:N | file:PATH), `ready_timeout`
// and `watchdog`, read from a program's keys.
import path from 'node:path';
import type { Node } from 'yaml';
import type { ReadyConfig } from './types';
import type { ValueReader } from './values';

/** The highest fd a `ready: fd:N` may name (a program's fd table beyond this is unusual). */
const MAX_READY_FD = 1023;

/** The ready settings of one program, or undefined without `ready:` (problems recorded in `r`). */
export function readReady(r: ValueReader, base: string, values: ReadonlyMap<string, Node>, listener: boolean): ReadyConfig | undefined {
  const node = values.get('ready');
  const timeoutNode = values.get('ready_timeout');
  const watchdogNode = values.get('watchdog');
  if (!node) {
    if (timeoutNode) r.fail(timeoutNode, `${base}.ready_timeout`, 'needs a ready: method (notify, fd:N or file:PATH) to wait for');
    if (watchdogNode) r.fail(watchdogNode, `${base}.watchdog`, 'needs ready: notify (the pings are sd_notify WATCHDOG=1 messages)');
    return undefined;
  }
  if (listener) return r.fail(node, `${base}.ready`, 'is not allowed for an event listener: it is ready when it says READY on its stdout');
  const text = r.text(node, `${base}.ready`, 'notify, fd:N or file:PATH');
  if (text === undefined) return undefined;
  let method: ReadyConfig['method'] | undefined;
  if (text === 'notify') method = { kind: 'notify' };
  else if (text.startsWith('fd:')) {
    const fd = /^\d+$/.test(text.slice(3)) ? Number(text.slice(3)) : NaN;
    if (!(fd >= 3 && fd <= MAX_READY_FD)) return r.fail(node, `${base}.ready`, `expected fd:N with N from 3 to ${MAX_READY_FD} (0-2 are the program's stdio), got "${text}"`);
    method = { kind: 'fd', fd };
  } else if (text.startsWith('file:')) {
    const file = text.slice(5);
    if (!path.isAbsolute(file)) return r.fail(node, `${base}.ready`, `expected file:PATH with an absolute path, got "${text}"`);
    method = { kind: 'file', path: path.normalize(file) };
  } else return r.fail(node, `${base}.ready`, `expected notify, fd:N or file:PATH, got "${text}"`);

  const ready: ReadyConfig = { method };
  if (timeoutNode) {
    const ms = r.duration(timeoutNode, `${base}.ready_timeout`);
    if (ms !== undefined && ms <= 0) r.fail(timeoutNode, `${base}.ready_timeout`, 'must be more than 0 (leave it out to wait without a bound)');
    else if (ms !== undefined) ready.timeoutMs = ms;
  }
  if (watchdogNode) {
    const ms = r.duration(watchdogNode, `${base}.watchdog`);
    if (method.kind !== 'notify') r.fail(watchdogNode, `${base}.watchdog`, `needs ready: notify (the pings are sd_notify WATCHDOG=1 messages), not ready: ${text}`);
    else if (ms !== undefined && ms < 10) r.fail(watchdogNode, `${base}.watchdog`, `must be at least 10ms, got ${ms}ms`);
    else if (ms !== undefined) ready.watchdogMs = ms;
  }
  return ready;
}
