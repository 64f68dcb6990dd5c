// `depends_on` and `healthcheck` of a program (SPEC §2): their shape here, their cross-program
// rules (unknown names, cycles, conditions a dependency can never meet) in checkDependencies.
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { shellSplit } from './shellwords';
import type { ConfigProblem, Dependency, DependencyCondition, HealthCheckConfig, HealthProbe, ProgramConfig } from './types';
import { linearRegExp } from './linear-regexp';
import { MAX_DURATION_MS } from './units';
import { closest, describe, type ValueReader } from './values';

const CONDITIONS: readonly DependencyCondition[] = ['started', 'healthy', 'completed'];
const PROBE_KEYS = ['exec', 'http', 'tcp', 'log'] as const;
const HEALTH_KEYS = [...PROBE_KEYS, 'interval', 'timeout', 'retries', 'start_period', 'liveness'];

/** The defaults of a healthcheck, in one place (README documents them). */
export const HEALTHCHECK_DEFAULTS = { intervalMs: 5000, timeoutMs: 2000, retries: 3, startPeriodMs: 0, liveness: false };

/** `depends_on: [a, b]` (condition started) or `depends_on: {a: {condition: healthy}}`. */
export function readDependsOn(r: ValueReader, node: Node, path: string): Dependency[] | undefined {
  const at = (n: Node) => ({ file: r.source.file, ...r.source.pos(n) });
  if (isScalar(node) && node.value === null) return [];
  if (isSeq(node)) {
    const out: Dependency[] = [];
    (node.items as Node[]).forEach((item, i) => {
      const name = r.text(item, `${path}[${i}]`, 'a program name');
      if (name !== undefined) out.push({ program: name, condition: 'started', source: at(item) });
    });
    return out;
  }
  if (!isMap(node)) return r.fail(node, path, `expected a list of program names or a map name -> {condition}, got ${describe(node)}`);
  const out: Dependency[] = [];
  for (const pair of node.items as Pair<Node, Node>[]) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    const p = `${path}.${name}`;
    const value = pair.value as Node | null;
    let condition: DependencyCondition | undefined = 'started';
    if (isMap(value)) {
      for (const inner of value.items as Pair<Node, Node>[]) {
        const key = isScalar(inner.key) ? String(inner.key.value) : '';
        if (key === 'condition') condition = r.oneOf(inner.value as Node, `${p}.condition`, CONDITIONS);
        else r.fail(inner.key, `${p}.${key}`, `unknown key "${key}"${closest(key, ['condition']) ? ', did you mean "condition"?' : ''}`);
      }
    } else if (isScalar(value) && value.value !== null) {
      condition = r.oneOf(value, p, CONDITIONS); // the short form `db: healthy`
    } else if (value !== null && !(isScalar(value) && value.value === null)) {
      condition = r.fail(value, p, `expected {condition: started|healthy|completed}, got ${describe(value)}`);
    }
    if (condition) out.push({ program: name, condition, source: at(pair.key) });
  }
  return out;
}

export function readHealthcheck(r: ValueReader, node: Node, path: string): HealthCheckConfig | undefined {
  if (!isMap(node)) return r.fail(node, path, `expected a map with one of exec, http, tcp or log, got ${describe(node)}`);
  const values = new Map<string, Node>();
  for (const pair of node.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (HEALTH_KEYS.includes(key)) values.set(key, pair.value as Node);
    else {
      const hint = closest(key, HEALTH_KEYS);
      r.fail(pair.key, `${path}.${key}`, `unknown key "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
    }
  }
  const kinds = PROBE_KEYS.filter((k) => values.has(k));
  if (kinds.length !== 1) {
    return r.fail(node, path, kinds.length === 0 ? 'needs one of exec, http, tcp or log' : `has ${kinds.join(' and ')}: give exactly one of exec, http, tcp or log`);
  }
  const kind = kinds[0];
  const probe = readProbe(r, kind, values.get(kind)!, `${path}.${kind}`);
  const hc = { ...HEALTHCHECK_DEFAULTS };
  const dur = (key: string, field: 'intervalMs' | 'timeoutMs' | 'startPeriodMs', min: number) => {
    const n = values.get(key);
    if (!n) return;
    const ms = r.duration(n, `${path}.${key}`);
    if (ms === undefined) return;
    if (ms < min) return void r.fail(n, `${path}.${key}`, `must be at least ${min}ms, got ${ms}ms`);
    hc[field] = ms;
  };
  dur('interval', 'intervalMs', 10);
  dur('timeout', 'timeoutMs', 10);
  dur('start_period', 'startPeriodMs', 0);
  const retries = values.get('retries');
  if (retries) hc.retries = r.int(retries, `${path}.retries`, 1) ?? hc.retries;
  const liveness = values.get('liveness');
  if (liveness) hc.liveness = r.bool(liveness, `${path}.liveness`) ?? false;
  if (hc.liveness && kind === 'log') {
    r.fail(liveness, `${path}.liveness`, 'a log check passes once and cannot turn unhealthy after; liveness needs exec, http or tcp');
  }
  if (!probe) return undefined;
  // A log check gives up after start_period + retries x interval: that sum is one timer too.
  const logDeadline = hc.startPeriodMs + hc.retries * hc.intervalMs;
  if (kind === 'log' && logDeadline > MAX_DURATION_MS) {
    return r.fail(node, path, `start_period + retries x interval is ${logDeadline}ms, more than ${MAX_DURATION_MS}ms (the longest a timer can wait)`);
  }
  return { probe, ...hc, source: { file: r.source.file, ...r.source.pos(node) } };
}

function readProbe(r: ValueReader, kind: (typeof PROBE_KEYS)[number], node: Node, path: string): HealthProbe | undefined {
  if (kind === 'exec') {
    if (isSeq(node)) {
      const argv = r.stringList(node, path);
      if (!argv) return undefined;
      if (argv.length === 0) return r.fail(node, path, 'is empty');
      return { kind, argv, text: argv.join(' ') };
    }
    const text = r.text(node, path, 'a command (string or list)');
    if (text === undefined) return undefined;
    const split = shellSplit(text);
    if (split.error) return r.fail(node, path, split.error);
    if (split.argv.length === 0) return r.fail(node, path, 'is empty');
    return { kind, argv: split.argv, text };
  }
  const text = r.text(node, path);
  if (text === undefined) return undefined;
  if (kind === 'http') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return r.fail(node, path, `expected a URL like http://127.0.0.1:8080/health, got "${text}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return r.fail(node, path, `expected an http:// or https:// URL, got "${text}"`);
    return { kind, url: url.href };
  }
  if (kind === 'tcp') {
    // host:port, [v6]:port, or a bare port for 127.0.0.1
    const m = /^(?:(\[[^\]]+\]|[^:\s]+):)?(\d+)$/.exec(text.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) return r.fail(node, path, `expected host:port like 127.0.0.1:5432, got "${text}"`);
    return { kind, host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
  }
  try {
    new RegExp(text);
  } catch (err) {
    return r.fail(node, path, `not a valid regular expression: ${(err as Error).message}`);
  }
  try {
    linearRegExp(text);
  } catch {
    return r.fail(node, path, 'uses a backreference or a lookaround, which cannot be matched in linear time; a log check tests every line on the supervisor\'s own event loop, so these are refused');
  }
  return { kind, pattern: text };
}

/**
 * Rules across programs: every name exists (all names known to the config, also those with
 * problems of their own), no cycles, `healthy` only on a program with a healthcheck, `completed`
 * only on a program that can end without being restarted (startsecs 0: a one-shot), nothing waits
 * for a disabled program.
 */
export function checkDependencies(programs: readonly ProgramConfig[], allNames: ReadonlySet<string>, problems: ConfigProblem[]): void {
  const byName = new Map(programs.map((p) => [p.name, p]));
  const fail = (d: Dependency, path: string, message: string) => problems.push({ ...d.source, path, message });
  for (const p of programs) {
    for (const d of p.dependsOn) {
      const path = `programs.${p.name}.depends_on.${d.program}`;
      if (d.program === p.name) fail(d, path, 'a program cannot depend on itself');
      else if (!allNames.has(d.program)) {
        const hint = closest(d.program, [...allNames]);
        fail(d, path, `no program named "${d.program}"${hint ? `, did you mean "${hint}"?` : ''}`);
      } else {
        const target = byName.get(d.program);
        if (!target) continue; // it has problems of its own, reported there
        if (target.disabled) fail(d, path, `"${d.program}" is disabled: it would wait forever`);
        else if (d.condition === 'healthy' && !target.healthcheck) fail(d, path, `condition healthy needs a healthcheck on "${d.program}"`);
        else if (d.condition === 'completed' && target.autorestart === true) {
          fail(d, path, `condition completed: "${d.program}" has autorestart: true and never completes`);
        } else if (d.condition === 'completed' && target.startsecsMs > 0) {
          // Supervisor counts an exit within startsecs as a failed start, whatever its code.
          fail(d, path, `condition completed needs startsecs: 0 on "${d.program}" (an exit within startsecs is a failed start)`);
        }
      }
    }
  }
  for (const cycle of findCycles(programs)) {
    const first = byName.get(cycle[0])!;
    const d = first.dependsOn.find((x) => x.program === cycle[1])!;
    fail(d, `programs.${first.name}.depends_on`, `dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
  }
}

/** Each cycle once, as the list of its programs starting at the first one in config order. */
function findCycles(programs: readonly ProgramConfig[]): string[][] {
  const edges = new Map(programs.map((p) => [p.name, p.dependsOn.map((d) => d.program).filter((n) => n !== p.name)]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const next of edges.get(n) ?? []) {
      if (!edges.has(next)) continue;
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const p of programs) if (!state.has(p.name)) visit(p.name);
  return cycles;
}
