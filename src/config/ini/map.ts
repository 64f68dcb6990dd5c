// supervisord.conf -> ringmaster's config keys. The result is a small tree of keys and values that
// remember where in which INI file they were written; ./source.ts turns it into the YAML nodes the
// ordinary validator reads (so a bad value is reported at its INI line), ./yaml.ts into the text
// `ringmaster convert` prints. Nothing here validates what the ringmaster validator checks anyway.
import { readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { MAX_NUMPROCS } from '../process-name';
import { MAX_CONFIG_BYTES, readConfigText } from '../read-file';
import { parseSupervisorEnvironment } from './environment';
import { expandPercent, type Expansions } from './expand';
import { parseIni, type IniFile, type IniOption, type IniSection } from './parser';

export interface IniText {
  file: string;
  dir: string;
  text: string;
  parsed: IniFile;
}

/** A place in one of the INI files. */
export interface Loc {
  file: IniText;
  offset: number;
}

export type Out =
  | { kind: 'scalar'; value: string | number | boolean; at: Loc }
  | { kind: 'seq'; items: Out[]; at: Loc }
  | { kind: 'map'; entries: OutEntry[]; at: Loc };

export interface OutEntry {
  key: string;
  keyAt: Loc;
  value: Out;
  /** For `convert`: comment lines put above this key. */
  notes: string[];
}

export interface IniNotice {
  at: Loc;
  path: string;
  message: string;
}

export interface IniMapping {
  files: IniText[];
  /** Top-level keys in order: settings, programs, groups, eventlisteners. */
  top: OutEntry[];
  errors: IniNotice[];
  /** Things with no meaning here or no equivalent: reported, never fatal. */
  warnings: IniNotice[];
}

const LISTENER_KEYS = ['events', 'buffer_size', 'result_handler'];
const LOGFILE_KEYS = ['logfile', 'logfile_maxbytes', 'logfile_backups', 'capture_maxbytes', 'events_enabled', 'syslog'];
/** Options Supervisor reads once per section; per-process ones may use %(process_num)d. */
const PER_PROCESS = ['command', 'directory', 'stdout_logfile', 'stderr_logfile'];
const PROGRAM_OPTIONS = new Set([
  'command', 'process_name', 'numprocs', 'numprocs_start', 'priority', 'autostart', 'autorestart', 'startsecs',
  'startretries', 'exitcodes', 'stopsignal', 'stopwaitsecs', 'stopasgroup', 'killasgroup', 'user', 'redirect_stderr',
  'environment', 'directory', 'umask', 'serverurl',
  ...['stdout', 'stderr'].flatMap((s) => LOGFILE_KEYS.map((k) => `${s}_${k}`)),
]);
/** What [fcgi-program:x] adds to [program:x]: ringmaster's `socket:` keys (SPEC §9). */
const FCGI_OPTIONS = ['socket', 'socket_owner', 'socket_mode', 'socket_backlog'];
const BOOL_OPTIONS = new Set(['autostart', 'stopasgroup', 'killasgroup', 'redirect_stderr', 'stdout_events_enabled', 'stderr_events_enabled']);
const INT_OPTIONS = new Set(['socket_backlog', 'priority', 'startsecs', 'startretries', 'stopwaitsecs', 'stdout_logfile_backups', 'stderr_logfile_backups', 'buffer_size']);
/** Logfile targets that mean "the container's output", which ringmaster writes every line to anyway. */
const CONSOLE_TARGETS = new Set(['/dev/stdout', '/dev/stderr', '/dev/fd/1', '/dev/fd/2', '/proc/self/fd/1', '/proc/self/fd/2']);

/** Supervisor's loglevel names (supervisor/loggers.py LevelsByName) -> ringmaster's log_level. */
const SUPERVISORD_LEVELS: Record<string, string> = { critical: 'error', error: 'error', warn: 'warn', info: 'info', debug: 'debug', trace: 'debug', blather: 'debug' };

const SUPERVISORD_IGNORED: Record<string, string> = {
  logfile: 'ringmaster writes its own messages to stdout',
  logfile_maxbytes: 'ringmaster writes its own messages to stdout',
  logfile_backups: 'ringmaster writes its own messages to stdout',
  pidfile: 'ringmaster writes no pidfile (it is PID 1 or the container\'s command)',
  nodaemon: 'ringmaster always runs in the foreground',
  silent: 'ringmaster always writes its messages to stdout',
  umask: 'applies only when supervisord daemonizes; set umask per program',
  directory: 'applies only when supervisord daemonizes; set directory per program',
  user: 'ringmaster runs as the container\'s user; set user per program',
  minfds: 'set limits on the container (docker run --ulimit nofile=…)',
  minprocs: 'set limits on the container (docker run --ulimit nproc=…)',
  nocleanup: 'ringmaster does not delete old AUTO log files',
  identifier: 'ringmaster identifies itself as "supervisor" in event headers',
};

interface Ctx {
  env: NodeJS.ProcessEnv;
  mapping: IniMapping;
  /** ENV_<key> of [supervisord] environment=, available to every later section (Supervisor 4.2.2+). */
  globalEnv: Record<string, string>;
  host: string;
}

/** Read a supervisord.conf (and the files its [include] names) and map it to ringmaster keys. */
export function mapIniFile(file: string, text: string, env: NodeJS.ProcessEnv): IniMapping {
  const main: IniText = { file, dir: path.dirname(file), text, parsed: parseIni(text) };
  const mapping: IniMapping = { files: [main], top: [], errors: [], warnings: [] };
  const ctx: Ctx = { env, mapping, globalEnv: {}, host: hostname() };
  for (const p of main.parsed.problems) mapping.errors.push({ at: { file: main, offset: p.offset }, path: '', message: p.message });

  // Sections of every file, merged by name like configparser does (a later file's option wins).
  const sections = new Map<string, Array<{ section: IniSection; file: IniText }>>();
  const addSections = (f: IniText) => {
    for (const s of f.parsed.sections) {
      const list = sections.get(s.name) ?? [];
      list.push({ section: s, file: f });
      sections.set(s.name, list);
    }
  };
  addSections(main);
  for (const s of main.parsed.sections.filter((x) => x.name === 'include')) readIncludes(ctx, main, s, addSections);
  for (const f of mapping.files.slice(1)) {
    for (const s of f.parsed.sections.filter((x) => x.name === 'include')) {
      warn(ctx, { file: f, offset: s.offset }, 'include', '[include] in an included file is ignored, as supervisord does');
    }
  }

  const merged = [...sections.entries()].map(([name, parts]) => ({ name, at: { file: parts[0].file, offset: parts[0].section.offset }, options: mergeOptions(parts) }));
  const settings: OutEntry[] = [];
  const supervisord = merged.find((s) => s.name === 'supervisord');
  if (supervisord) mapSupervisord(ctx, supervisord, settings);

  // Group membership first: it decides %(group_name)s of the programs.
  const groupOf = new Map<string, string>();
  const groups: OutEntry[] = [];
  for (const s of merged.filter((x) => x.name.startsWith('group:'))) {
    const name = s.name.slice('group:'.length);
    const programs = s.options.get('programs');
    if (!programs) {
      error(ctx, s.at, `groups.${name}`, `[${s.name}] needs a programs= line`);
      continue;
    }
    const names = expandOpt(ctx, programs, sectionNames(ctx, programs, { group_name: name }), s.name)
      ?.split(',').map((x) => x.trim()).filter((x) => x !== '') ?? [];
    for (const [key, opt] of s.options) {
      if (key === 'priority') {
        if (opt.value.trim() !== '999') warn(ctx, optLoc(opt), `groups.${name}`, `[${s.name}] priority has no equivalent: ringmaster orders by each program's priority`);
      } else if (key !== 'programs') warn(ctx, optLoc(opt), `groups.${name}`, `[${s.name}] ${key}= is not a Supervisor option; ignored`);
    }
    const memberAt: Loc[] = [];
    for (const n of names) {
      groupOf.set(n, name);
      memberAt.push(optLoc(programs));
    }
    groups.push({ key: name, keyAt: s.at, value: { kind: 'seq', items: names.map((n, i) => scalar(n, memberAt[i])), at: optLoc(programs) }, notes: [] });
  }

  const programs: OutEntry[] = [];
  const listeners: OutEntry[] = [];
  const stripAnsi = supervisord?.options.get('strip_ansi');
  for (const s of merged) {
    const [section, name] = splitSection(s.name);
    // An fcgi-program is a program with a socket on its stdin.
    const fcgi = section === 'fcgi-program';
    const kind = fcgi ? 'program' : section;
    if (kind === 'program' || kind === 'eventlistener') {
      const entries = mapProgram(ctx, s, kind, name, groupOf.get(name) ?? name, fcgi);
      if (kind === 'program' && stripAnsi && isTrue(stripAnsi.value)) {
        for (const e of entries) if (e.value.kind === 'map') e.value.entries.push(entry('strip_ansi', optLoc(stripAnsi), scalar(true, optLoc(stripAnsi))));
      }
      if (kind === 'program') {
        programs.push(...entries);
        // A program split into one entry per process (see mapProgram) keeps Supervisor's group.
        if (entries.length > 1 || (entries.length === 1 && entries[0].key !== name)) {
          const g = groupOf.get(name);
          if (g) {
            const members = groups.find((x) => x.key === g)!.value as Extract<Out, { kind: 'seq' }>;
            const at = members.items.findIndex((i) => i.kind === 'scalar' && i.value === name);
            members.items.splice(at, 1, ...entries.map((e) => scalar(e.key, members.items[at].at)));
          } else groups.push({ key: name, keyAt: s.at, value: { kind: 'seq', items: entries.map((e) => scalar(e.key, s.at)), at: s.at }, notes: [] });
        }
      } else listeners.push(...entries);
    } else if (kind === 'unix_http_server') mapUnixServer(ctx, s, settings);
    else if (kind === 'inet_http_server') mapInetServer(ctx, s, settings);
    else if (kind === 'supervisorctl' || kind === 'rpcinterface' || kind === 'ctlplugin') {
      warn(ctx, s.at, '', `[${s.name}] is not needed: ringmaster ctl and supervisorctl -s unix://SOCKET talk to settings.socket; ignored`);
    } else if (kind !== 'supervisord' && kind !== 'group' && kind !== 'include') {
      warn(ctx, s.at, '', `[${s.name}] is not a section supervisord knows; ignored`);
    }
  }

  if (settings.length > 0) mapping.top.push(entry('settings', settings[0].keyAt, { kind: 'map', entries: settings, at: settings[0].keyAt }));
  if (programs.length > 0) mapping.top.push(entry('programs', programs[0].keyAt, { kind: 'map', entries: programs, at: programs[0].keyAt }));
  if (groups.length > 0) mapping.top.push(entry('groups', groups[0].keyAt, { kind: 'map', entries: groups, at: groups[0].keyAt }));
  if (listeners.length > 0) mapping.top.push(entry('eventlisteners', listeners[0].keyAt, { kind: 'map', entries: listeners, at: listeners[0].keyAt }));
  const order = (n: IniNotice) => [mapping.files.indexOf(n.at.file), n.at.offset];
  mapping.warnings.sort((a, b) => order(a)[0] - order(b)[0] || order(a)[1] - order(b)[1]);
  return mapping;
}

interface MergedSection {
  name: string;
  at: Loc;
  options: Map<string, IniOption & { file: IniText }>;
}

function mergeOptions(parts: Array<{ section: IniSection; file: IniText }>): Map<string, IniOption & { file: IniText }> {
  const out = new Map<string, IniOption & { file: IniText }>();
  for (const { section, file } of parts) for (const [k, o] of section.options) out.set(k, { ...o, file });
  return out;
}

function splitSection(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? [name, ''] : [name.slice(0, i), name.slice(i + 1)];
}

function readIncludes(ctx: Ctx, main: IniText, section: IniSection, add: (f: IniText) => void): void {
  const files = section.options.get('files');
  if (!files) return error(ctx, { file: main, offset: section.offset }, 'include', '[include] needs a files= line');
  const opt = { ...files, file: main };
  const value = expandOpt(ctx, opt, baseNames(ctx, main), 'include');
  if (value === undefined) return;
  for (const pattern of value.split(/\s+/).filter((p) => p !== '')) {
    const matches = glob(path.resolve(main.dir, pattern));
    if (matches.length === 0) warn(ctx, optLoc(opt), 'include', `no file matches "${pattern}"`);
    for (const f of matches) {
      if (ctx.mapping.files.some((x) => x.file === f)) continue;
      let text: string;
      try {
        text = readConfigText(f, MAX_CONFIG_BYTES);
      } catch (err) {
        error(ctx, optLoc(opt), 'include', `cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        continue;
      }
      const included: IniText = { file: f, dir: path.dirname(f), text, parsed: parseIni(text) };
      ctx.mapping.files.push(included);
      for (const p of included.parsed.problems) error(ctx, { file: included, offset: p.offset }, '', p.message);
      add(included);
    }
  }
}

/** Python's glob.glob for the patterns people write: `*`, `?` and `[...]` in any path segment. */
function glob(pattern: string): string[] {
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let found = ['/'];
  for (const part of parts.slice(1)) {
    const next: string[] = [];
    for (const dir of found) {
      if (!/[*?[]/.test(part)) {
        next.push(path.join(dir, part));
        continue;
      }
      const re = new RegExp(`^${part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        /* not a directory: no match */
      }
      for (const n of names) if (re.test(n) && (!n.startsWith('.') || part.startsWith('.'))) next.push(path.join(dir, n));
    }
    found = next;
  }
  return found.filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  }).sort();
}

function mapSupervisord(ctx: Ctx, s: MergedSection, settings: OutEntry[]): void {
  for (const [key, opt] of s.options) {
    const at = optLoc(opt);
    if (key === 'environment') {
      // Expanded twice by supervisord (as an option, then as the environment string).
      const once = expandOpt(ctx, opt, { ...baseNames(ctx, opt.file), host_node_name: ctx.host }, 'supervisord');
      if (once === undefined) continue;
      const twice = expandText(ctx, once, opt, { ...baseNames(ctx, opt.file), host_node_name: ctx.host }, 'supervisord.environment', { escaped: true });
      if (twice === undefined) continue;
      const env = envMap(ctx, twice, opt, 'settings.environment');
      if (!env) continue;
      for (const e of env.entries) ctx.globalEnv[e.key] = String((e.value as { value: string }).value);
      settings.push(entry('environment', at, env));
    } else if (key === 'childlogdir') {
      const v = expandOpt(ctx, opt, baseNames(ctx, opt.file), 'supervisord');
      if (v !== undefined) settings.push(entry('logdir', at, scalar(v, at), ['childlogdir: where AUTO log files go']));
    } else if (key === 'loglevel') {
      const v = expandOpt(ctx, opt, baseNames(ctx, opt.file), 'supervisord');
      if (v === undefined) continue;
      const level = SUPERVISORD_LEVELS[v.trim().toLowerCase()];
      if (level) settings.push(entry('log_level', at, scalar(level, at), level === v.trim().toLowerCase() ? [] : [`loglevel ${v.trim()}: the nearest of debug, info, warn, error`]));
      else error(ctx, at, '[supervisord] loglevel', `expected one of ${Object.keys(SUPERVISORD_LEVELS).join(', ')}, got "${v}"`);
    } else if (key === 'strip_ansi') {
      // Applied to every program (see mapIniFile).
    } else if (key in SUPERVISORD_IGNORED) warn(ctx, at, `[supervisord] ${key}`, `no meaning here (${SUPERVISORD_IGNORED[key]}); ignored`);
    else warn(ctx, at, `[supervisord] ${key}`, 'not a supervisord option; ignored');
  }
}

function mapUnixServer(ctx: Ctx, s: MergedSection, settings: OutEntry[]): void {
  for (const [key, opt] of s.options) {
    const at = optLoc(opt);
    if (key === 'file') {
      const v = expandOpt(ctx, opt, baseNames(ctx, opt.file), s.name);
      if (v !== undefined) settings.push(entry('socket', at, scalar(v, at)));
    } else if (key === 'chmod' || key === 'chown') {
      warn(ctx, at, `[${s.name}] ${key}`, 'no meaning in a container (ringmaster\'s socket is mode 0700, owned by its user); ignored');
    } else if (key === 'username' || key === 'password') {
      warn(ctx, at, `[${s.name}] ${key}`, 'not needed: the unix socket is reachable only by its owner; ignored');
    } else warn(ctx, at, `[${s.name}] ${key}`, 'not a supervisord option; ignored');
  }
}

/** [inet_http_server] port, username, password: settings.http, http_username, http_password. */
function mapInetServer(ctx: Ctx, s: MergedSection, settings: OutEntry[]): void {
  const keys: Record<string, string> = { port: 'http', username: 'http_username', password: 'http_password' };
  for (const [key, opt] of s.options) {
    const at = optLoc(opt);
    if (!(key in keys)) {
      warn(ctx, at, `[${s.name}] ${key}`, 'not a supervisord option; ignored');
      continue;
    }
    const v = expandOpt(ctx, opt, baseNames(ctx, opt.file), s.name);
    if (v !== undefined) settings.push(entry(keys[key], at, scalar(v.trim(), at)));
  }
  if (s.options.has('port') && !s.options.has('username')) {
    warn(ctx, s.at, 'settings.http', `[${s.name}] has no username: ringmaster then serves only /healthz, /readyz and /metrics on it (supervisord would serve its whole API to anyone)`);
  }
}

/** One [program:x] or [eventlistener:x]: usually one entry; one per process when their options differ. */
function mapProgram(ctx: Ctx, s: MergedSection, kind: 'program' | 'eventlistener', name: string, group: string, fcgi = false): OutEntry[] {
  const base = `${kind === 'program' ? 'programs' : 'eventlisteners'}.${name}`;
  const names = (opt: IniOption & { file: IniText }) => sectionNames(ctx, opt, { program_name: name, group_name: group });
  const keys: OutEntry[] = [];
  const notes: string[] = [];
  const opts = s.options;
  const literal = (key: string): string | undefined => {
    const opt = opts.get(key);
    return opt && expandOpt(ctx, opt, names(opt), s.name, { literalEnv: true });
  };

  const numprocs = toInt(literal('numprocs')) ?? 1;
  const numprocsStart = toInt(literal('numprocs_start')) ?? 0;
  const stopasgroup = opts.get('stopasgroup');
  const killasgroup = opts.get('killasgroup');

  for (const [key, opt] of opts) {
    const at = optLoc(opt);
    const std = /^(stdout|stderr)_/.exec(key)?.[1];
    if (PER_PROCESS.includes(key) || key === 'environment' || key === 'process_name') continue; // below, per process
    if (kind === 'eventlistener' && LISTENER_KEYS.includes(key)) {
      if (key === 'events') {
        const v = expandOpt(ctx, opt, names(opt), s.name);
        if (v !== undefined) keys.push(entry('events', at, { kind: 'seq', items: v.split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => scalar(x.toUpperCase(), at)), at }));
      } else if (key === 'result_handler') {
        const v = expandOpt(ctx, opt, names(opt), s.name);
        if (v !== undefined && v.trim() !== 'supervisor.dispatchers:default_handler') warn(ctx, at, `${base}.result_handler`, `a Python result handler ("${v.trim()}") cannot run here; the default handler (OK accepts, anything else rejects) is used`);
      } else keys.push(entry(key, at, typed(key, expandOpt(ctx, opt, names(opt), s.name) ?? opt.value, at)));
      continue;
    }
    if (fcgi && FCGI_OPTIONS.includes(key)) {
      const v = expandOpt(ctx, opt, names(opt), s.name);
      if (v !== undefined) keys.push(entry(key, at, typed(key, v, at)));
      continue;
    }
    if (!PROGRAM_OPTIONS.has(key)) {
      warn(ctx, at, `${base}.${key}`, `"${key}" is not a Supervisor [${fcgi ? 'fcgi-program' : kind}:x] option; ignored (supervisord ignores it too)`);
      continue;
    }
    const value = expandOpt(ctx, opt, names(opt), s.name);
    if (value === undefined) continue;
    if (key === 'serverurl') {
      if (value.trim().toUpperCase() !== 'AUTO') warn(ctx, at, `${base}.serverurl`, 'ringmaster sets SUPERVISOR_SERVER_URL to its own socket; ignored');
    } else if (std && /_(syslog)$/.test(key)) {
      if (isTrue(value)) warn(ctx, at, `${base}.${key}`, 'no syslog in a container: every line is on ringmaster\'s output (docker logs); ignored');
    } else if (key === 'stdout_capture_maxbytes' && kind === 'eventlistener') {
      if (value.trim() !== '0') warn(ctx, at, `${base}.${key}`, 'an event listener\'s stdout is the protocol channel: no capture mode on it, as in supervisord; ignored');
    } else if (std === 'stdout' && key === 'stdout_events_enabled' && kind === 'eventlistener') {
      if (isTrue(value)) warn(ctx, at, `${base}.${key}`, 'an event listener\'s stdout is the protocol channel: no PROCESS_LOG events from it, as in supervisord; ignored');
    } else if (std && /_logfile_(maxbytes|backups)$/.test(key)) {
      // Emitted with the log file itself (below); without one they mean nothing.
    } else if (key === 'exitcodes') {
      keys.push(entry(key, at, { kind: 'seq', items: value.split(',').map((c) => typed('exitcode', c.trim(), at)), at }));
    } else if (key === 'stopasgroup' || key === 'killasgroup') {
      keys.push(entry(key, at, typed(key, value, at)));
    } else if (key === 'numprocs' || key === 'numprocs_start') {
      keys.push(entry(key, at, typed('priority', literal(key) ?? value, at)));
    } else {
      keys.push(entry(key, at, typed(key, value, at)));
    }
  }
  if (fcgi) {
    if (!opts.has('socket')) error(ctx, s.at, `${base}.socket`, `[${s.name}] needs a socket= line (tcp://HOST:PORT or unix:///PATH)`);
    else keys.push(entry('socket_fd', s.at, scalar(0, s.at), ['[fcgi-program:x]: the socket is each process\'s stdin (fd 0), as in Supervisor']));
  }
  // ringmaster stops whole process groups by default (Supervisor: only the pid); a Supervisor
  // file that turns killasgroup off without saying stopasgroup means "neither".
  if (killasgroup && !stopasgroup && !isTrue(killasgroup.value)) keys.push(entry('stopasgroup', optLoc(killasgroup), scalar(false, optLoc(killasgroup))));

  // Options Supervisor expands for each process_num. When they come out the same for every
  // process, one program with numprocs says it; otherwise each process becomes a program of its own.
  const processName = opts.get('process_name');
  const perProcess: Array<{ num: number; name: string; entries: OutEntry[] }> = [];
  // numprocs past MAX_NUMPROCS is refused by the validator (at its INI line); expanding it first
  // looped 2^53 times. A counter, not `num++`: numprocs_start near 2^53 would never move on.
  const expanded = numprocs > MAX_NUMPROCS ? 1 : numprocs;
  for (let k = 0; k < expanded; k++) {
    const num = numprocsStart + k;
    const procNames = (opt: IniOption & { file: IniText }): Expansions => ({ ...names(opt), process_num: num, numprocs });
    const entries: OutEntry[] = [];
    const envOpt = opts.get('environment');
    const programEnv: Record<string, string> = {};
    if (envOpt) {
      const v = expandOpt(ctx, envOpt, procNames(envOpt), s.name);
      const env = v === undefined ? undefined : envMap(ctx, v, envOpt, `${base}.environment`);
      if (env) {
        entries.push(entry('environment', optLoc(envOpt), env));
        for (const e of env.entries) programEnv[e.key] = String((e.value as { value: string }).value);
      }
    }
    const withEnv = (opt: IniOption & { file: IniText }): Expansions => ({ ...procNames(opt), ...prefixed(programEnv) });
    for (const key of PER_PROCESS) {
      const opt = opts.get(key);
      if (!opt) continue;
      const v = expandOpt(ctx, opt, withEnv(opt), s.name, { programEnv });
      if (v === undefined) continue;
      const at = optLoc(opt);
      if (key.endsWith('_logfile')) entries.push(...logfileEntries(ctx, key, v, opts, withEnv, s.name, base, at, notes));
      else entries.push(entry(key, at, scalar(v, at)));
    }
    const pname = processName ? expandOpt(ctx, processName, procNames(processName), s.name, { literalEnv: true }) : name;
    perProcess.push({ num, name: pname ?? name, entries });
  }
  if (kind === 'eventlistener' && opts.get('redirect_stderr') && isTrue(opts.get('redirect_stderr')!.value)) {
    error(ctx, optLoc(opts.get('redirect_stderr')!), `${base}.redirect_stderr`, `[${s.name}] sets redirect_stderr=true, which is not allowed: stdout is the event listener protocol channel`);
  }

  const same = perProcess.every((p) => sameEntries(p.entries, perProcess[0].entries));
  if (same || numprocs <= 1) {
    const all = [...keys, ...(perProcess[0]?.entries ?? [])];
    if (processName) {
      // The template stays for ringmaster to expand per process; only ENV_ and here are fixed now.
      const template = expandOpt(ctx, processName, names(processName), s.name, { keepProcessNames: true });
      if (template !== undefined) all.push(entry('process_name', optLoc(processName), scalar(template, optLoc(processName))));
    }
    return [entry(name, s.at, { kind: 'map', entries: sortKeys(all), at: s.at }, notes)];
  }
  const split = [...notes, `[${s.name}] has numprocs=${numprocs} with options that differ per process (%(process_num)…): one program per process, grouped as "${group}"`];
  if (kind === 'eventlistener') {
    warn(ctx, s.at, base, `numprocs=${numprocs} with options that differ per process: each process becomes a pool of its own (each gets every event)`);
  }
  return perProcess.map((p, i) => {
    const own = keys.filter((k) => k.key !== 'numprocs' && k.key !== 'numprocs_start');
    return entry(p.name, s.at, { kind: 'map', entries: sortKeys([...own, ...p.entries]), at: s.at }, i === 0 ? split : []);
  });
}

function logfileEntries(
  ctx: Ctx, key: string, value: string, opts: Map<string, IniOption & { file: IniText }>,
  withEnv: (opt: IniOption & { file: IniText }) => Expansions, section: string, base: string, at: Loc, notes: string[],
): OutEntry[] {
  const target = value.trim();
  const upper = target.toUpperCase();
  if (upper === 'NONE' || upper === 'OFF') return [];
  if (CONSOLE_TARGETS.has(target)) {
    notes.push(`${key}=${target}: ringmaster puts every line on its own output (stderr lines on its stderr) already`);
    return [];
  }
  if (upper === 'SYSLOG') {
    warn(ctx, at, `${base}.${key}`, 'no syslog in a container: every line is on ringmaster\'s output (docker logs); ignored');
    return [];
  }
  if (key === 'stderr_logfile' && opts.get('redirect_stderr') && isTrue(opts.get('redirect_stderr')!.value)) {
    warn(ctx, at, `${base}.${key}`, 'redirect_stderr=true: the stderr log file is ignored, as in supervisord');
    return [];
  }
  const out = [entry(key, at, scalar(upper === 'AUTO' ? 'AUTO' : target, at))];
  for (const suffix of ['maxbytes', 'backups']) {
    const opt = opts.get(`${key}_${suffix}`);
    if (!opt) continue;
    const v = expandOpt(ctx, opt, withEnv(opt), section);
    if (v !== undefined) out.push(entry(`${key}_${suffix}`, optLoc(opt), typed(`${key}_${suffix}`, v, optLoc(opt))));
  }
  return out;
}

function sameEntries(a: OutEntry[], b: OutEntry[]): boolean {
  return JSON.stringify(a.map(plain)) === JSON.stringify(b.map(plain));
}

function plain(e: OutEntry): unknown {
  const value = (o: Out): unknown => (o.kind === 'scalar' ? o.value : o.kind === 'seq' ? o.items.map(value) : o.entries.map(plain));
  return [e.key, value(e.value)];
}

const KEY_ORDER = ['command', 'process_name', 'numprocs', 'numprocs_start', 'events', 'buffer_size', 'directory', 'environment', 'user'];
function sortKeys(entries: OutEntry[]): OutEntry[] {
  const rank = (k: string) => (KEY_ORDER.includes(k) ? KEY_ORDER.indexOf(k) : KEY_ORDER.length);
  return [...entries].sort((a, b) => rank(a.key) - rank(b.key));
}

function envMap(ctx: Ctx, text: string, opt: IniOption & { file: IniText }, p: string): Extract<Out, { kind: 'map' }> | undefined {
  const at = optLoc(opt);
  // The text is already ringmaster's: `$$` is a literal `$` (one punctuation character to the
  // tokenizer, as in supervisord) and `${X?…}` stands for %(ENV_X)s (one word).
  const refs: string[] = [];
  const hidden = text.replace(/\$\$|\$\{[^}]*\}/g, (m) => (m === '$$' ? '\uE000' : `__RINGMASTER_REF_${refs.push(m) - 1}__`));
  const restore = (s: string) => s.replace(/\uE000/g, '$$$$').replace(/__RINGMASTER_REF_(\d+)__/g, (_m, i: string) => refs[Number(i)]);
  const { env, error: why } = parseSupervisorEnvironment(hidden);
  if (why) return void error(ctx, at, p, restore(why).replace(/\$\$/g, '$$'));
  return { kind: 'map', entries: env.map(([k, v]) => entry(restore(k), at, scalar(restore(v), at))), at };
}

interface ExpandOptions {
  /** %(ENV_X)s becomes X's value now rather than ${X?…} (for numprocs, process_name). */
  literalEnv?: boolean;
  /** Keep %(program_name)s, %(process_num)… etc. for ringmaster's process_name. */
  keepProcessNames?: boolean;
  programEnv?: Record<string, string>;
  /** The text is already ringmaster's (`$$` for `$`): the second expansion of [supervisord] environment. */
  escaped?: boolean;
}

const KEPT = new Set(['program_name', 'group_name', 'process_num', 'numprocs', 'host_node_name']);

function expandOpt(ctx: Ctx, opt: IniOption & { file: IniText }, names: Expansions, section: string, o: ExpandOptions = {}): string | undefined {
  return expandText(ctx, opt.value, opt, names, `${section}.${opt.key}`, o);
}

/**
 * `%(…)s` as supervisord expands it. The value is also made safe for ringmaster's `${VAR}`
 * interpolation (a literal `$` becomes `$$`), and `%(ENV_X)s` of ringmaster's own environment
 * becomes `${X?…}` so that a converted file reads the variable when it runs, not when converted.
 */
function expandText(ctx: Ctx, text: string, opt: IniOption & { file: IniText }, names: Expansions, what: string, o: ExpandOptions = {}): string | undefined {
  const keepTemplate = o.keepProcessNames === true;
  // A process_name template is expanded again by ringmaster: there `%` needs escaping instead.
  const esc = (s: string) => (keepTemplate ? s.replace(/%/g, '%%') : s.replace(/\$/g, '$$$$'));
  // ENV_ names of [supervisord] and program environment= hold ringmaster text already (`$$`,
  // `${X?…}`): inserted as they are; every other name is a plain value.
  const escapedNames: Expansions = {};
  for (const [k, v] of Object.entries(names)) {
    if (typeof v !== 'string') escapedNames[k] = v;
    else if (!k.startsWith('ENV_')) escapedNames[k] = esc(v);
    else escapedNames[k] = keepTemplate ? v.replace(/\$\$/g, '$').replace(/%/g, '%%') : v;
  }
  const source = keepTemplate || o.escaped ? text : text.replace(/\$/g, '$$$$');
  const { value, error: why } = expandPercent(source, escapedNames, what, keepTemplate, (name, whole) => {
    if (keepTemplate && KEPT.has(name)) return whole;
    if (!name.startsWith('ENV_') || name in escapedNames) return undefined;
    const variable = name.slice(4);
    if (o.programEnv && variable in o.programEnv) return undefined;
    if (variable in ctx.globalEnv) {
      return undefined;
    }
    const current = ctx.env[variable];
    if (o.literalEnv || keepTemplate || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) || !/^%\(ENV_\w+\)s$/.test(whole)) {
      if (current === undefined) return undefined; // reported as a name that cannot be expanded
      const r = expandPercent(whole, { [name]: current }, what);
      return r.error ? undefined : esc(r.value);
    }
    // No %( in the message: [supervisord] environment is expanded a second time.
    return `\${${variable}?not set (${name} in ${what})}`;
  });
  if (why) {
    // Reported once, here; the raw text keeps the key present so no "is required" follows.
    error(ctx, optLoc(opt), '', why);
    return text.replace(/\$/g, '$$$$');
  }
  return keepTemplate ? value.replace(/\$/g, '$$$$') : value;
}

function baseNames(ctx: Ctx, file: IniText): Expansions {
  return { here: file.dir, ...prefixed(ctx.globalEnv) };
}

function sectionNames(ctx: Ctx, opt: IniOption & { file: IniText }, extra: Expansions): Expansions {
  return { ...baseNames(ctx, opt.file), host_node_name: ctx.host, ...extra };
}

function prefixed(env: Record<string, string>): Expansions {
  const out: Expansions = {};
  for (const [k, v] of Object.entries(env)) out[`ENV_${k}`] = v;
  return out;
}

function typed(key: string, value: string, at: Loc): Out {
  const t = value.trim();
  if (BOOL_OPTIONS.has(key)) {
    const l = t.toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(l)) return scalar(true, at);
    if (['false', 'no', 'off', '0'].includes(l)) return scalar(false, at);
  }
  if ((INT_OPTIONS.has(key) || key === 'exitcode') && /^-?\d+$/.test(t)) return scalar(Number(t), at);
  if (key === 'autorestart') return ['true', 'false'].includes(t.toLowerCase()) ? scalar(t.toLowerCase() === 'true', at) : scalar(t.toLowerCase(), at);
  return scalar(t, at);
}

function toInt(v: string | undefined): number | undefined {
  return v !== undefined && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;
}

function isTrue(v: string): boolean {
  return ['true', 'yes', 'on', '1'].includes(v.trim().toLowerCase());
}

function scalar(value: string | number | boolean, at: Loc): Out {
  return { kind: 'scalar', value, at };
}

function entry(key: string, keyAt: Loc, value: Out, notes: string[] = []): OutEntry {
  return { key, keyAt, value, notes };
}

function optLoc(opt: IniOption & { file: IniText }): Loc {
  return { file: opt.file, offset: opt.valueOffset };
}

function warn(ctx: Ctx, at: Loc, p: string, message: string): void {
  ctx.mapping.warnings.push({ at, path: p, message });
}

function error(ctx: Ctx, at: Loc, p: string, message: string): void {
  ctx.mapping.errors.push({ at, path: p, message });
}
