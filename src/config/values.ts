import { parseSignal } from '../signal-util';
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { interpolate } from './interpolate';
import type { Source } from './sources';
import type { ConfigProblem } from './types';
import { MAX_DURATION_MS, parseDuration, parseSize } from './units';

/**
 * Reads typed values out of YAML nodes, interpolating strings, and records a problem (with the
 * node's file, line and column) for each value that is not what the key expects.
 */
export class ValueReader {
  constructor(
    readonly source: Source,
    readonly env: NodeJS.ProcessEnv,
    readonly problems: ConfigProblem[],
    /** False for a value taken verbatim (a RINGMASTER_PASSWORD-like variable): no `${}`, no `$$`. */
    private readonly interpolation = true,
    /** The values read from `${file:PATH}`, shared by every reader of one load. */
    readonly secrets = new Set<string>(),
  ) {}

  fail(node: Node | null | undefined, path: string, message: string): undefined {
    this.problems.push(this.source.problem(node, path, message));
    return undefined;
  }

  /** A scalar as text (numbers and booleans as written), interpolated. */
  text(node: Node | null | undefined, path: string, what = 'a string'): string | undefined {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') return this.fail(node, path, `expected ${what}, got ${describe(node)}`);
    const raw = typeof node.value === 'string' ? node.value : String(node.value);
    if (typeof node.value !== 'string' || !this.interpolation) return raw;
    const { value, error } = interpolate(raw, this.env, { dir: this.source.dir, secrets: this.secrets });
    if (error) return this.fail(node, path, error);
    return value;
  }

  bool(node: Node, path: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    const t = this.text(node, path, 'true or false')?.toLowerCase();
    if (t === undefined) return undefined;
    if (['true', 'yes', 'on', '1'].includes(t)) return true;
    if (['false', 'no', 'off', '0'].includes(t)) return false;
    return this.fail(node, path, `expected true or false, got "${t}"`);
  }

  int(node: Node, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const t = this.text(node, path, 'an integer');
    if (t === undefined) return undefined;
    if (!/^-?\d+$/.test(t.trim())) return this.fail(node, path, `expected an integer, got "${t}"`);
    const n = Number(t);
    if (n < min || n > max) return this.fail(node, path, `expected an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got ${n}`);
    return n;
  }

  duration(node: Node, path: string): number | undefined {
    let ms: number | null;
    let shown: string;
    if (isScalar(node) && typeof node.value === 'number') {
      ms = parseDuration(node.value);
      shown = String(node.value);
    } else {
      const t = this.text(node, path, 'a duration');
      if (t === undefined) return undefined;
      ms = parseDuration(t);
      shown = `"${t}"`;
    }
    if (ms === null) return this.fail(node, path, `expected a duration (seconds, or like 500ms, 10s, 1m30s), got ${shown}`);
    if (ms > MAX_DURATION_MS) return this.fail(node, path, `${shown} is too long: at most ${MAX_DURATION_MS}ms (24 days 20h31m23.647s), the longest a timer can wait`);
    return ms;
  }

  size(node: Node, path: string): number | undefined {
    const t = this.text(node, path, 'a size');
    if (t === undefined) return undefined;
    return parseSize(t) ?? this.fail(node, path, `expected a size like 50MB, 1KB or a number of bytes, got "${t}"`);
  }

  signal(node: Node, path: string): NodeJS.Signals | undefined {
    const t = this.text(node, path, 'a signal name');
    if (t === undefined) return undefined;
    const sig = parseSignal(t);
    return sig ?? this.fail(node, path, `expected a signal name like TERM, INT or HUP, got "${t}"`);
  }

  oneOf<T extends string>(node: Node, path: string, allowed: readonly T[]): T | undefined {
    const t = this.text(node, path, listWords(allowed));
    if (t === undefined) return undefined;
    return allowed.includes(t as T) ? (t as T) : this.fail(node, path, `expected ${listWords(allowed)}, got "${t}"`);
  }

  stringList(node: Node, path: string): string[] | undefined {
    if (isScalar(node)) {
      const t = this.text(node, path);
      return t === undefined ? undefined : [t];
    }
    if (!isSeq(node)) return this.fail(node, path, `expected a list, got ${describe(node)}`);
    const out: string[] = [];
    (node.items as Node[]).forEach((item, i) => {
      const t = this.text(item, `${path}[${i}]`);
      if (t !== undefined) out.push(t);
    });
    return out;
  }

  stringMap(node: Node, path: string): Record<string, string> | undefined {
    if (isScalar(node) && node.value === null) return {};
    if (!isMap(node)) return this.fail(node, path, `expected a map of NAME: value, got ${describe(node)}`);
    const out: Record<string, string> = {};
    for (const pair of node.items as Pair<Node, Node>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) {
        this.fail(pair.key, path, 'expected a plain key');
        continue;
      }
      const value = pair.value === null || (isScalar(pair.value) && pair.value.value === null) ? '' : this.text(pair.value, `${path}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
}

export function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : JSON.stringify(node.value);
  return 'something else';
}

function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** The known key closest to `key`, if it is close enough to be a likely typo. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
