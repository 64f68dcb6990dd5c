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
  watchConfig: false,
  shutdownDelayMs: 0,
  logLevel: 'info',
};

/** `127.0.0.1:9001`, `[::1]:9001`, `:9001` or `*:9001` (every interface), or just `9001`. */
function listenAddress(r: ValueReader, n: Node, p: string): Settings['http'] {
  const text = r.text(n, p);
  if (text === undefined) return undefined;
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s]*):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) return void r.fail(n, p, `expected HOST:PORT like 127.0.0.1:9001 (port 1-65535), got "${text}"`);
  let host = m[1] ?? '';
  if (host === '*') host = '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port };
}

/**
 * sun_path holds 108 bytes with the NUL: a longer path was silently truncated by the kernel, so
 * ringmaster served on another path than the one it chmodded and unlinked (issue #12, 7).
 */
export const MAX_SOCKET_PATH_BYTES = 107;

export function socketPathProblem(socketPath: string): string | undefined {
  const n = Buffer.byteLength(socketPath);
  if (n > MAX_SOCKET_PATH_BYTES) return `is ${n} bytes long; a unix socket path has at most ${MAX_SOCKET_PATH_BYTES}`;
  return undefined;
}

type Apply = (r: ValueReader, node: Node, path: string, s: Settings) => void;

const SETTINGS: Record<string, Apply> = {
  exit_policy: (r, n, p, s) => set(s, 'exitPolicy', r.oneOf(n, p, ['critical', 'any', 'all'] as const)),
  shutdown_timeout: (r, n, p, s) => set(s, 'shutdownTimeoutMs', r.duration(n, p)),
  log_format: (r, n, p, s) => set(s, 'logFormat', r.oneOf(n, p, ['text', 'json'] as const)),
  log_timestamps: (r, n, p, s) => set(s, 'logTimestamps', r.bool(n, p)),
  logdir: (r, n, p, s) => set(s, 'logdir', r.text(n, p)),
  log_color: (r, n, p, s) => set(s, 'logColor', r.oneOf(n, p, ['auto', 'always', 'never'] as const)),
  socket: (r, n, p, s) => {
    const text = r.text(n, p);
    const problem = text === undefined ? undefined : socketPathProblem(text);
    if (problem) return void r.fail(n, p, problem);
    if (text === '') return void r.fail(n, p, 'is empty');
    set(s, 'socket', text);
  },
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
  notify_dir: (r, n, p, s) => {
    const text = r.text(n, p);
    if (text === undefined) return;
    if (!text.startsWith('/')) return void r.fail(n, p, `expected an absolute directory, got "${text}"`);
    // Room for the per-process socket name (`<pid>-<process>-<n>.sock`) within sun_path.
    if (Buffer.byteLength(text) > MAX_SOCKET_PATH_BYTES - 40) return void r.fail(n, p, `is too long for socket paths in it: at most ${MAX_SOCKET_PATH_BYTES - 40} bytes`);
    set(s, 'notifyDir', text);
  },
  watch_config: (r, n, p, s) => set(s, 'watchConfig', r.bool(n, p)),
  shutdown_delay: (r, n, p, s) => set(s, 'shutdownDelayMs', r.duration(n, p)),
  log_level: (r, n, p, s) => set(s, 'logLevel', r.oneOf(n, p, ['debug', 'info', 'warn', 'error'] as const)),
  http: (r, n, p, s) => set(s, 'http', listenAddress(r, n, p)),
  http_username: (r, n, p, s) => set(s, 'httpUsername', nonEmpty(r, n, p, r.text(n, p))),
  http_password: (r, n, p, s) => {
    const text = nonEmpty(r, n, p, r.text(n, p));
    if (text?.startsWith('{SHA}') && !/^\{SHA\}[0-9a-fA-F]{40}$/.test(text)) {
      r.fail(n, p, 'a {SHA} password is {SHA} followed by the 40 hex digits of the SHA-1 of the password');
    }
    set(s, 'httpPassword', text); // set even when bad, so it is not reported as missing too
  },
};

/**
 * An empty http_username or http_password (typically `${RINGMASTER_HTTP_PASSWORD}` with the
 * variable unset) would let `curl -u :` in: refused, so a config never opens the API by accident.
 * The value is still returned, so the pair is not reported as missing as well.
 */
function nonEmpty(r: ValueReader, n: Node, p: string, text: string | undefined): string | undefined {
  if (text === '') r.fail(n, p, 'is empty (an unset variable?): an empty username or password would let anyone in; set it, or remove both http_username and http_password to serve only /healthz, /readyz and /metrics');
  return text;
}

export const SETTINGS_KEYS = Object.keys(SETTINGS);

function set<K extends keyof Settings>(s: Settings, key: K, value: Settings[K] | undefined): void {
  if (value !== undefined) s[key] = value;
}

/** Apply one `settings.KEY` (from a file or a RINGMASTER_<KEY> variable) to `s`. */
export function applySetting(r: ValueReader, key: string, keyNode: Node, value: Node, s: Settings): void {
  const path = `settings.${key}`;
  const apply = SETTINGS[key];
  if (!apply) {
    const hint = closest(key, SETTINGS_KEYS);
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
