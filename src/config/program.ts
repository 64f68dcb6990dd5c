import path from 'node:path';
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { parseEnvFile } from './envfile';
import { MAX_NUMPROCS } from './process-name';
import { MAX_ENV_FILE_BYTES, readConfigText } from './read-file';
import { readDependsOn, readHealthcheck } from './health';
import { readReady } from './ready';
import { readSchedule, readWatch } from './schedule';
import { shellSplit } from './shellwords';
import { readPidfile, readSocket, SOCKET_KEYS } from './socket';
import { checkStageKeys, HOOK_TIMEOUT_DEFAULT_MS, readHooks, readHookTimeout, readStage } from './lifecycle';
import type { ProgramConfig, ProgramLogFile, Settings, Stage } from './types';
import { resolveUser, switchProblem } from './users';
import { closest, describe, type ValueReader } from './values';
import { EVENT_TYPE_NAMES } from '../types';

export const PROGRAM_KEYS = [
  'command', 'shell', 'directory', 'environment', 'user', 'umask', 'autostart', 'autorestart',
  'exitcodes', 'startsecs', 'startretries', 'backoff', 'stopsignal', 'stopwaitsecs', 'stopasgroup',
  'killasgroup', 'priority', 'numprocs', 'numprocs_start', 'process_name', 'redirect_stderr',
  'env_file', 'disabled', 'critical', 'strip_ansi', 'depends_on', 'healthcheck',
  'stdout_logfile', 'stdout_logfile_maxbytes', 'stdout_logfile_backups',
  'stderr_logfile', 'stderr_logfile_maxbytes', 'stderr_logfile_backups',
  'stdout_events_enabled', 'stderr_events_enabled', 'stdout_capture_maxbytes', 'stderr_capture_maxbytes',
  'ready', 'ready_timeout', 'watchdog',
  ...SOCKET_KEYS,
  'schedule', 'schedule_timezone', 'overlap', 'watch',
  'stage', 'hooks', 'hook_timeout',
  'memory_limit',
] as const;

/** Keys of an `eventlisteners:` entry besides the program keys. */
export const LISTENER_KEYS = ['events', 'buffer_size'] as const;

const AUTORESTART: Record<string, ProgramConfig['autorestart']> = {
  true: true, always: true, false: false, never: false, unexpected: 'unexpected', 'on-failure': 'unexpected',
};

const NAME_RE = /^[^\s:/]+$/;

/**
 * Validate one `programs.NAME` entry (or, with `listener`, one `eventlisteners.NAME`); null when
 * it has problems (all of them recorded).
 */
export function readProgram(r: ValueReader, name: string, keyNode: Node, node: Node, settings: Settings, etcDir = '/etc', listener = false): ProgramConfig | null {
  const base = `${listener ? 'eventlisteners' : 'programs'}.${name}`;
  // An event listener's stdin and stdout are its protocol channel: no socket, no daemon.
  const known: readonly string[] = listener ? [...PROGRAM_KEYS.filter((k) => !(SOCKET_KEYS as readonly string[]).includes(k)), ...LISTENER_KEYS] : PROGRAM_KEYS;
  const before = r.problems.length;
  if (!NAME_RE.test(name)) r.fail(keyNode, base, 'a program name may not contain spaces, ":" or "/"');
  if (!isMap(node)) {
    r.fail(node ?? keyNode, base, `expected a map of program settings, got ${describe(node)}`);
    return null;
  }
  const values = new Map<string, Node>();
  for (const pair of node.items as Pair<Node, Node>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!known.includes(key)) {
      const hint = closest(key, known);
      r.fail(pair.key, `${base}.${key}`, `unknown key "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
    } else values.set(key, pair.value as Node);
  }
  const get = <T>(key: string, read: (n: Node, p: string) => T | undefined, fallback: T): T => {
    const n = values.get(key);
    if (n === undefined) return fallback;
    return read(n, `${base}.${key}`) ?? fallback;
  };

  const shell = get('shell', (n, p) => r.bool(n, p), false);
  const commandNode = values.get('command');
  // One parser for `command` and every hook (SPEC §10: a hook is a command "as `command`").
  const readCommand = (n: Node, p: string): { argv: string[]; text: string } | undefined => {
    const before = r.problems.length;
    let argv: string[] = [];
    let text = '';
    if (isSeq(n)) {
      argv = r.stringList(n, p) ?? [];
      text = argv.join(' ');
      if (shell) argv = ['/bin/sh', '-c', text];
    } else {
      text = r.text(n, p) ?? '';
      if (shell) argv = ['/bin/sh', '-c', text];
      else {
        const split = shellSplit(text);
        if (split.error) r.fail(n, p, split.error);
        argv = split.argv;
      }
    }
    if (argv.length === 0 && r.problems.length === before) r.fail(n, p, 'is empty');
    return r.problems.length === before ? { argv, text } : undefined;
  };
  let argv: string[] = [];
  let commandText = '';
  if (!commandNode) r.fail(keyNode, `${base}.command`, 'is required');
  else ({ argv, text: commandText } = readCommand(commandNode, `${base}.command`) ?? { argv, text: commandText });

  // A scheduled job runs at its times only: never autostarted otherwise, never restarted, and
  // a quick exit is a finished run, not a failed start (startsecs 0, startretries 0).
  const schedule = listener ? undefined : readSchedule(r, base, values);
  if (schedule) {
    for (const key of ['autostart', 'autorestart'] as const) {
      const n = values.get(key);
      if (n && r.bool(n, `${base}.${key}`) !== false) r.fail(n, `${base}.${key}`, `a scheduled program runs at its times only${key === 'autostart' ? ' (add @reboot as a schedule of its own to run at start)' : ' and is never restarted'}: leave ${key} out`);
    }
  }
  const autorestart = get('autorestart', (n, p) => {
    const t = isScalar(n) && typeof n.value === 'boolean' ? String(n.value) : r.text(n, p);
    if (t === undefined) return undefined;
    if (t.toLowerCase() in AUTORESTART) return AUTORESTART[t.toLowerCase()];
    return r.fail(n, p, `expected true, false or unexpected, got "${t}"`);
  }, (schedule ? false : 'unexpected') as ProgramConfig['autorestart']);

  const exitcodes = get('exitcodes', (n, p) => {
    if (isSeq(n)) {
      const codes = (n.items as Node[]).map((item, i) => r.int(item, `${p}[${i}]`, 0, 255));
      return codes.every((c) => c !== undefined) ? (codes as number[]) : undefined;
    }
    const one = r.int(n, p, 0, 255);
    return one === undefined ? undefined : [one];
  }, [0]);

  const umask = get('umask', (n, p) => {
    // `umask: 022` is the number 22 to YAML 1.2 and `0o22` is 18: read the digits as written.
    const t = isScalar(n) && typeof n.value === 'number' && n.source ? n.source.replace(/^0o/i, '0') : r.text(n, p, 'an octal umask like "022"');
    if (t === undefined) return undefined;
    return /^[0-7]{1,4}$/.test(t) ? parseInt(t, 8) : r.fail(n, p, `expected an octal umask like "022", got "${t}"`);
  }, undefined as number | undefined);

  const backoff = { initialMs: 1000, maxMs: 30_000, resetMs: 60_000 };
  const backoffNode = values.get('backoff');
  if (backoffNode) {
    if (!isMap(backoffNode)) r.fail(backoffNode, `${base}.backoff`, `expected a map {initial, max, reset}, got ${describe(backoffNode)}`);
    else {
      for (const pair of backoffNode.items as Pair<Node, Node>[]) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        const field = ({ initial: 'initialMs', max: 'maxMs', reset: 'resetMs' } as const)[key as 'initial'];
        if (!field) {
          const hint = closest(key, ['initial', 'max', 'reset']);
          r.fail(pair.key, `${base}.backoff.${key}`, `unknown key "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
          continue;
        }
        const ms = r.duration(pair.value as Node, `${base}.backoff.${key}`);
        if (ms !== undefined) backoff[field] = ms;
      }
      if (backoff.maxMs < backoff.initialMs) {
        const maxNode = (backoffNode.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === 'max')?.value as Node | undefined;
        r.fail(maxNode ?? backoffNode, `${base}.backoff.max`, `must not be less than backoff.initial (${backoff.maxMs}ms < ${backoff.initialMs}ms)`);
      }
    }
  }

  const stopasgroup = get('stopasgroup', (n, p) => r.bool(n, p), true);
  const killasgroup = get('killasgroup', (n, p) => r.bool(n, p), stopasgroup);
  if (stopasgroup && !killasgroup) r.fail(values.get('killasgroup'), `${base}.killasgroup`, 'cannot be false when stopasgroup is true (as in Supervisor)');

  const numprocs = get('numprocs', (n, p) => r.int(n, p, 1, MAX_NUMPROCS), 1);
  const given = values.get('process_name');
  // With several processes and no process_name, number them rather than failing.
  const processName = given
    ? (r.text(given, `${base}.process_name`) ?? '%(program_name)s')
    : numprocs > 1 ? '%(program_name)s_%(process_num)02d' : '%(program_name)s';
  if (numprocs > 1 && !processName.includes('%(process_num)')) {
    r.fail(given ?? keyNode, `${base}.process_name`, 'must contain %(process_num) when numprocs is more than 1');
  }

  const user = get('user', (n, p) => {
    const t = r.text(n, p);
    if (t === undefined) return undefined;
    if (!/^[^:\s]+(:[^:\s]+)?$/.test(t)) return r.fail(n, p, `expected a user name or uid[:gid], got "${t}"`);
    try {
      const problem = switchProblem(resolveUser(t, etcDir), t);
      return problem ? r.fail(n, p, problem) : t;
    } catch (err) {
      return r.fail(n, p, (err as Error).message);
    }
  }, undefined as string | undefined);

  const environment: Record<string, string> = { ...settings.environment };
  const envFileNode = values.get('env_file');
  if (envFileNode) {
    const file = r.text(envFileNode, `${base}.env_file`);
    if (file !== undefined) {
      const full = path.resolve(r.source.dir, file);
      try {
        const parsed = parseEnvFile(readConfigText(full, MAX_ENV_FILE_BYTES));
        for (const e of parsed.errors) r.problems.push({ file: full, line: e.line, col: 1, path: `${base}.env_file`, message: e.message });
        Object.assign(environment, parsed.env);
      } catch (err) {
        r.fail(envFileNode, `${base}.env_file`, `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }
  Object.assign(environment, get('environment', (n, p) => r.stringMap(n, p), {}));

  const logfile = (stream: 'stdout' | 'stderr'): ProgramLogFile | undefined => {
    const target = get(`${stream}_logfile`, (n, p) => r.text(n, p), undefined as string | undefined);
    const maxBytes = get(`${stream}_logfile_maxbytes`, (n, p) => r.size(n, p), 50 * 1024 * 1024);
    const backups = get(`${stream}_logfile_backups`, (n, p) => r.int(n, p, 0), 10);
    if (target === undefined || target === 'NONE' || target === 'OFF') return undefined;
    return { path: target === 'AUTO' ? target : path.resolve(r.source.dir, target), maxBytes, backups };
  };

  const directory = get('directory', (n, p) => r.text(n, p), undefined as string | undefined);
  const stage = get('stage', (n, p) => readStage(r, n, p), 'main' as Stage);
  checkStageKeys(r, base, stage, values, listener);
  const oneShot = stage !== 'main';
  if (schedule && values.has('memory_limit')) r.fail(values.get('memory_limit'), `${base}.memory_limit`, 'a memory_limit restarts its program, and a scheduled program is never restarted');
  if (schedule && oneShot) r.fail(values.get('schedule'), `${base}.schedule`, `a scheduled program is in stage main (an ${stage} program runs once, when its stage comes)`);

  const socket = listener ? undefined : readSocket(r, base, values, etcDir);
  const pidfile = listener ? undefined : readPidfile(r, base, values, directory, numprocs);
  const program: ProgramConfig = {
    name,
    argv,
    commandText,
    shell,
    directory,
    environment,
    user,
    umask,
    // An init or finish program runs once when its stage comes (config/lifecycle.ts refuses these keys on it).
    autostart: oneShot ? stage === 'init' : schedule ? false : get('autostart', (n, p) => r.bool(n, p), true),
    autorestart: oneShot ? false : autorestart,
    exitcodes,
    startsecsMs: oneShot ? 0 : get('startsecs', (n, p) => r.duration(n, p), schedule ? 0 : 1000),
    startretries: oneShot ? 0 : get('startretries', (n, p) => r.int(n, p, 0), schedule ? 0 : 3),
    backoff,
    stopsignal: get('stopsignal', (n, p) => r.signal(n, p), 'SIGTERM' as NodeJS.Signals),
    stopwaitsecsMs: get('stopwaitsecs', (n, p) => r.duration(n, p), 10_000),
    stopasgroup,
    killasgroup,
    // Listener pools start first and stop last, as in Supervisor (its pool priority default).
    priority: get('priority', (n, p) => r.int(n, p, -1_000_000, 1_000_000), listener ? -1 : 999),
    numprocs,
    numprocsStart: get('numprocs_start', (n, p) => r.int(n, p, 0, 2 ** 31 - 1), 0),
    processName,
    processNames: [], // expanded by checkProcessNames once the program's group is known
    redirectStderr: get('redirect_stderr', (n, p) => r.bool(n, p), false),
    disabled: get('disabled', (n, p) => r.bool(n, p), false),
    critical: get('critical', (n, p) => r.bool(n, p), false),
    stdoutLogfile: logfile('stdout'),
    stderrLogfile: logfile('stderr'),
    stripAnsi: get('strip_ansi', (n, p) => r.bool(n, p), false),
    stdoutEvents: get('stdout_events_enabled', (n, p) => r.bool(n, p), false),
    stderrEvents: get('stderr_events_enabled', (n, p) => r.bool(n, p), false),
    stdoutCaptureMaxBytes: get('stdout_capture_maxbytes', (n, p) => r.size(n, p), 0),
    stderrCaptureMaxBytes: get('stderr_capture_maxbytes', (n, p) => r.size(n, p), 0),
    eventListener: listener ? readListener(r, base, keyNode, values) : undefined,
    group: name,
    dependsOn: get('depends_on', (n, p) => readDependsOn(r, n, p), []),
    healthcheck: get('healthcheck', (n, p) => readHealthcheck(r, n, p), undefined),
    ready: readReady(r, base, values, listener),
    // Only when given: a program without them has no such keys (as before they existed).
    ...(socket && { socket }),
    ...(pidfile && { pidfile }),
    stage,
    hooks: get('hooks', (n, p) => readHooks(r, n, p, readCommand), {}),
    hookTimeoutMs: get('hook_timeout', (n, p) => readHookTimeout(r, n, p), HOOK_TIMEOUT_DEFAULT_MS),
    memoryLimit: get('memory_limit', (n, p) => {
      const bytes = r.size(n, p);
      return bytes === 0 ? r.fail(n, p, 'must be more than 0 (leave it out for no limit)') : bytes;
    }, undefined as number | undefined),
    // Present only when given, so a program without them looks as it did before they existed.
    ...(schedule ? { schedule } : {}),
    ...(values.has('watch') ? { watch: get('watch', (n, p) => readWatch(r, n, p), undefined) } : {}),
    source: { file: r.source.file, ...r.source.pos(keyNode) },
  };
  if (program.pidfile && program.socket?.fd === 3) {
    r.fail(values.get('pidfile'), `${base}.pidfile`, 'cannot be used with a socket on fd 3: LISTEN_PID would name the command, not its daemon (socket_fd: 0 works)');
  }
  const readyFd = program.ready?.method.kind === 'fd' ? program.ready.method.fd : undefined;
  if (readyFd !== undefined && program.socket && readyFd === program.socket.fd) {
    r.fail(values.get('ready'), `${base}.ready`, `fd:${readyFd} is the fd the program's socket is given on (socket_fd): choose another fd`);
  }
  if (listener && program.redirectStderr) r.fail(values.get('redirect_stderr'), `${base}.redirect_stderr`, 'is not allowed for an event listener: its stdout is the protocol channel');
  return r.problems.length === before ? program : null;
}

/** `events:` (required; Supervisor's type names, any case) and `buffer_size:` (10, at least 1). */
function readListener(r: ValueReader, base: string, keyNode: Node, values: Map<string, Node>): { events: string[]; bufferSize: number } {
  const events: string[] = [];
  const eventsNode = values.get('events');
  if (!eventsNode) r.fail(keyNode, `${base}.events`, 'is required (a list of event types, e.g. [PROCESS_STATE_EXITED, PROCESS_STATE_FATAL])');
  else {
    const items = isSeq(eventsNode) ? (eventsNode.items as Node[]) : [eventsNode];
    items.forEach((item, i) => {
      const p = isSeq(eventsNode) ? `${base}.events[${i}]` : `${base}.events`;
      const text = r.text(item, p, 'an event type');
      if (text === undefined) return;
      for (const word of text.split(',').map((w) => w.trim().toUpperCase()).filter((w) => w !== '')) {
        if (EVENT_TYPE_NAMES.includes(word)) events.push(word);
        else {
          const hint = closest(word, EVENT_TYPE_NAMES.map((n) => n.toLowerCase()))?.toUpperCase();
          r.fail(item, p, `unknown event type "${word}"${hint ? `, did you mean "${hint}"?` : ''}`);
        }
      }
    });
    if (events.length === 0 && items.length === 0) r.fail(eventsNode, `${base}.events`, 'needs at least one event type');
  }
  const sizeNode = values.get('buffer_size');
  const bufferSize = sizeNode ? (r.int(sizeNode, `${base}.buffer_size`, 1) ?? 10) : 10;
  return { events: [...new Set(events)], bufferSize };
}
