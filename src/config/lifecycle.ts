// SPEC §10: a program's `stage:` and `hooks:` (with `hook_timeout`), and the rules that keep
// stages meaningful. An init or finish program runs once, to its end, in its stage's turn; keys
// that only make sense for a long-running program are refused on it rather than ignored.
import { isMap, isScalar, type Node, type Pair } from 'yaml';
import type { ConfigProblem, HookCommand, HookName, ProgramConfig, ProgramHooks, Stage } from './types';
import { closest, describe, type ValueReader } from './values';

export const STAGES: readonly Stage[] = ['init', 'main', 'finish'];
export const HOOK_NAMES: readonly HookName[] = ['pre_start', 'post_start', 'pre_stop', 'post_stop'];
export const HOOK_TIMEOUT_DEFAULT_MS = 30_000;

/**
 * Keys refused on an init or finish program, and why. It is started by its stage (not by
 * autostart or a restart policy), never retried, and ends the container only by the stage rules.
 */
const NOT_FOR_ONE_SHOT: Record<string, string> = {
  autostart: 'it is started by its stage, once',
  autorestart: 'it runs once, to its end, and is never restarted',
  startsecs: 'it runs to its end: there is no "started" to wait for',
  startretries: 'it runs once: a failed start is its end',
  backoff: 'it is never restarted',
  critical: 'its end is decided by its stage (an init failure ends the container; a finish failure never changes the exit code)',
  depends_on: 'stages run one program at a time in priority order: use priority',
  healthcheck: 'it is not a service: nothing waits for its health',
  numprocs: 'a stage runs one process at a time',
};

/** `stage: init | main | finish` (default main). */
export function readStage(r: ValueReader, node: Node, path: string): Stage | undefined {
  const t = r.text(node, path);
  if (t === undefined) return undefined;
  if ((STAGES as readonly string[]).includes(t)) return t as Stage;
  return r.fail(node, path, `expected init, main or finish, got "${t}"`);
}

/**
 * `hooks: {pre_start: CMD, …}`: each a command as `command:` takes it (`readCommand` is the
 * program's own parser, so a hook is split and `shell:`-wrapped exactly like the program).
 */
export function readHooks(
  r: ValueReader,
  node: Node,
  path: string,
  readCommand: (n: Node, p: string) => HookCommand | undefined,
): ProgramHooks | undefined {
  if (isScalar(node) && node.value === null) return {};
  if (!isMap(node)) return r.fail(node, path, `expected a map of hooks (${HOOK_NAMES.join(', ')}), got ${describe(node)}`);
  const hooks: ProgramHooks = {};
  for (const pair of node.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!(HOOK_NAMES as readonly string[]).includes(key)) {
      const hint = closest(key, HOOK_NAMES);
      r.fail(pair.key, `${path}.${key}`, `unknown hook "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
      continue;
    }
    const command = readCommand(pair.value as Node, `${path}.${key}`);
    if (command) hooks[key as HookName] = command;
  }
  return hooks;
}

/** `hook_timeout`: a duration above 0 (a hook killed the moment it starts could never succeed). */
export function readHookTimeout(r: ValueReader, node: Node, path: string): number | undefined {
  const ms = r.duration(node, path);
  if (ms === 0) return r.fail(node, path, 'must be more than 0');
  return ms;
}

/** An init or finish program may not carry the keys of a service (NOT_FOR_ONE_SHOT). */
export function checkStageKeys(r: ValueReader, base: string, stage: Stage, values: ReadonlyMap<string, Node>, listener: boolean): void {
  if (listener && stage !== 'main') r.fail(values.get('stage'), `${base}.stage`, 'an event listener serves the programs while they run: its stage is main');
  if (stage === 'main' || listener) return;
  for (const [key, why] of Object.entries(NOT_FOR_ONE_SHOT)) {
    const n = values.get(key);
    if (n !== undefined) r.fail(n, `${base}.${key}`, `has no meaning for ${stage === 'init' ? 'an' : 'a'} ${stage} program: ${why}`);
  }
}

/** A depends_on may only name a main program: init ones have all ended before, finish ones run after. */
export function checkStageDependencies(programs: readonly ProgramConfig[], problems: ConfigProblem[]): void {
  const stageOf = new Map(programs.map((p) => [p.name, p.stage]));
  for (const p of programs) {
    for (const d of p.dependsOn) {
      const stage = stageOf.get(d.program);
      if (stage === undefined || stage === 'main') continue;
      const why = stage === 'init' ? 'every init program has ended before any main program starts' : 'finish programs run only after every main program has stopped';
      problems.push({ ...d.source, path: `programs.${p.name}.depends_on.${d.program}`, message: `"${d.program}" is ${stage === 'init' ? 'an' : 'a'} ${stage} program: ${why}` });
    }
  }
}
