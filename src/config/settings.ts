import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import type { Settings } from './types';
import { closest, describe, type ValueReader } from './values';

export const DEFAULT_SETTINGS: Settings = {
  exitPolicy: 'critical',
  shutdownTimeoutMs: 30_000,
  logFormat: 'text',
  logTimestamps: false,
  logColor: 'auto',
  socket: '/run/ringmaster.sock',
  forwardSignals: ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'],
  signalRewrite: {},
  logdir: '/var/log/ringmaster',
  environment: {},
};

/** Settings whose behaviour comes with a later feature: rejected, never silently ignored. */
export const SETTINGS_LATER: Record<string, string> = {
  http: 'the HTTP listener',
  http_username: 'the HTTP listener',
  http_password: 'the HTTP listener',
};

type Apply = (r: ValueReader, node: Node, path: string, s: Settings) => void;

const SETTINGS: Record<string, Apply> = {
  exit_policy: (r, n, p, s) => set(s, 'exitPolicy', r.oneOf(n, p, ['critical', 'any', 'all'] as const)),
  shutdown_timeout: (r, n, p, s) => set(s, 'shutdownTimeoutMs', r.duration(n, p)),
  log_format: (r, n, p, s) => set(s, 'logFormat', r.oneOf(n, p, ['text', 'json'] as const)),
  log_timestamps: (r, n, p, s) => set(s, 'logTimestamps', r.bool(n, p)),
  logdir: (r, n, p, s) => set(s, 'logdir', r.text(n, p)),
  log_color: (r, n, p, s) => set(s, 'logColor', r.oneOf(n, p, ['auto', 'always', 'never'] as const)),
  socket: (r, n, p, s) => set(s, 'socket', r.text(n, p)),
  forward_signals: (r, n, p, s) => {
    // Each item is checked at its own place, so a bad name points at itself, not the list.
    if (isScalar(n) && n.value === null) return void (s.forwardSignals = []);
    const items = isSeq(n) ? (n.items as Node[]) : [n];
    if (!isSeq(n) && !isScalar(n)) return void r.fail(n, p, `expected a list of signal names, got ${describe(n)}`);
    const sigs = items.map((item, i) => r.signal(item, isSeq(n) ? `${p}[${i}]` : p));
    if (sigs.every((x) => x)) s.forwardSignals = sigs as NodeJS.Signals[];
  },
  signal_rewrite: (r, n, p, s) => {
    if (isScalar(n) && n.value === null) return void (s.signalRewrite = {});
    if (!isMap(n)) return void r.fail(n, p, `expected a map like {TERM: QUIT}, got ${describe(n)}`);
    const out: Settings['signalRewrite'] = {};
    let ok = true;
    for (const pair of n.items as Pair<Node, Node>[]) {
      const from = r.signal(pair.key, `${p}`);
      const to = r.signal(pair.value as Node, `${p}.${isScalar(pair.key) ? String(pair.key.value) : '?'}`);
      if (from && to) out[from] = to;
      else ok = false;
    }
    if (ok) s.signalRewrite = out;
  },
  environment: (r, n, p, s) => set(s, 'environment', r.stringMap(n, p)),
};

export const SETTINGS_KEYS = Object.keys(SETTINGS);

function set<K extends keyof Settings>(s: Settings, key: K, value: Settings[K] | undefined): void {
  if (value !== undefined) s[key] = value;
}

/** Apply one `settings.KEY` (from a file or a RINGMASTER_<KEY> variable) to `s`. */
export function applySetting(r: ValueReader, key: string, keyNode: Node, value: Node, s: Settings): void {
  const path = `settings.${key}`;
  if (key in SETTINGS_LATER) return void r.fail(keyNode, path, `not supported yet (planned: ${SETTINGS_LATER[key]})`);
  const apply = SETTINGS[key];
  if (!apply) {
    const hint = closest(key, [...SETTINGS_KEYS, ...Object.keys(SETTINGS_LATER)]);
    return void r.fail(keyNode, path, `unknown key "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
  }
  apply(r, value, path, s);
}

export function checkSettingsNode(r: ValueReader, node: Node | null): boolean {
  if (node === null || (isScalar(node) && node.value === null)) return false;
  if (!isMap(node)) {
    r.fail(node, 'settings', `expected a map, got ${describe(node)}`);
    return false;
  }
  return true;
}
