// `schedule:`, `schedule_timezone:`, `overlap:` and `watch:` of a program (SPEC §11).
import path from 'node:path';
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { knownTimezone, parseSchedule } from '../cron';
import type { Overlap, ScheduleConfig, WatchConfig } from './types';
import { parseDuration } from './units';
import { closest, describe, type ValueReader } from './values';

const OVERLAP: readonly Overlap[] = ['forbid', 'allow', 'replace'];

/** The schedule of a program, or undefined without `schedule:` (or with problems, all recorded). */
export function readSchedule(r: ValueReader, base: string, values: Map<string, Node>): ScheduleConfig | undefined {
  const node = values.get('schedule');
  const tzNode = values.get('schedule_timezone');
  const overlapNode = values.get('overlap');
  if (!node) {
    for (const [key, n] of [['schedule_timezone', tzNode], ['overlap', overlapNode]] as const) {
      if (n) r.fail(n, `${base}.${key}`, 'only applies to a program with schedule:');
    }
    return undefined;
  }
  const p = `${base}.schedule`;
  const text = r.text(node, p, 'a cron expression like "*/5 * * * *", @daily or @every 90s');
  let timezone = r.env.TZ?.replace(/^:/, '') || 'UTC';
  if (!knownTimezone(timezone)) timezone = 'UTC'; // a TZ the program may understand (a POSIX rule) but Intl does not
  if (tzNode) {
    const tz = r.text(tzNode, `${base}.schedule_timezone`);
    if (tz !== undefined && !knownTimezone(tz)) r.fail(tzNode, `${base}.schedule_timezone`, `unknown time zone "${tz}" (expected an IANA name like Europe/Berlin or UTC)`);
    else if (tz !== undefined) timezone = tz;
  }
  const overlap = overlapNode ? r.oneOf(overlapNode, `${base}.overlap`, OVERLAP) : 'forbid';
  if (text === undefined || overlap === undefined) return undefined;
  const every = /^@every\s+(\S+)$/.exec(text.trim());
  if (every) {
    const ms = parseDuration(every[1]);
    if (ms === null || ms < 1000) return r.fail(node, p, `@every needs a duration of at least 1s like 90s or 5m, got "${every[1]}"`);
    return { kind: 'every', text: text.trim(), timezone, everyMs: ms, overlap };
  }
  const parsed = parseSchedule(text, timezone);
  if (!parsed.spec) return r.fail(node, p, parsed.error!);
  return { ...parsed.spec, overlap };
}

const WATCH_KEYS = ['paths', 'action', 'signal', 'debounce'];

/** `watch: {paths: [...], action: restart}` or `{paths: [...], signal: HUP}`, with `debounce` (500ms). */
export function readWatch(r: ValueReader, node: Node, p: string): WatchConfig | undefined {
  if (!isMap(node)) return r.fail(node, p, `expected a map {paths, action: restart} or {paths, signal: HUP}, got ${describe(node)}`);
  const values = new Map<string, Node>();
  const before = r.problems.length;
  for (const pair of node.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!WATCH_KEYS.includes(key)) {
      const hint = closest(key, WATCH_KEYS);
      r.fail(pair.key, `${p}.${key}`, `unknown key "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
    } else values.set(key, pair.value as Node);
  }
  const pathsNode = values.get('paths');
  let paths: string[] = [];
  if (!pathsNode) r.fail(node, `${p}.paths`, 'is required (a list of files or directories)');
  else {
    if (!isSeq(pathsNode) && !isScalar(pathsNode)) r.fail(pathsNode, `${p}.paths`, `expected a list of paths, got ${describe(pathsNode)}`);
    else paths = (r.stringList(pathsNode, `${p}.paths`) ?? []).map((f) => path.resolve(r.source.dir, f));
    if (paths.length === 0 && r.problems.length === before) r.fail(pathsNode, `${p}.paths`, 'needs at least one path');
  }
  const actionNode = values.get('action');
  const signalNode = values.get('signal');
  let action: WatchConfig['action'] | undefined;
  if (actionNode && signalNode) r.fail(signalNode, `${p}.signal`, 'give either action: restart or signal: SIG, not both');
  else if (signalNode) {
    const sig = r.signal(signalNode, `${p}.signal`);
    if (sig) action = { kind: 'signal', signal: sig };
  } else if (actionNode) {
    if (r.oneOf(actionNode, `${p}.action`, ['restart'] as const)) action = { kind: 'restart' };
  } else r.fail(node, `${p}.action`, 'is required: action: restart, or signal: HUP instead');
  const debounceNode = values.get('debounce');
  const debounceMs = debounceNode ? r.duration(debounceNode, `${p}.debounce`) : 500;
  if (r.problems.length !== before || !action || debounceMs === undefined) return undefined;
  return { paths, action, debounceMs };
}
