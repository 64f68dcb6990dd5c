import path from 'node:path';
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { readSecretFile, redactor } from './secrets';
import { checkDependencies } from './health';
import { checkStageDependencies } from './lifecycle';
import { checkProcessNames } from './process-name';
import { readProgram } from './program';
import { DEFAULT_SETTINGS, SETTINGS_KEYS, applySetting, checkSettingsNode } from './settings';
import { EnvSource, readSources, type SourceOptions } from './sources';
import { ConfigError, type Config, type ConfigProblem, type GroupConfig, type ProgramConfig, type Settings } from './types';
import { ValueReader, closest, describe } from './values';

const TOP_KEYS = ['settings', 'programs', 'groups', 'include'];
const VERBATIM_SETTINGS = new Set(['socket', 'logdir', 'http', 'http_username', 'http_password']);

interface Entry {
  reader: ValueReader;
  key: Node;
  value: Node;
}

/**
 * Load every source of the config (SPEC §1–2), merge them, apply RINGMASTER_<SETTING>
 * overrides, and validate. Throws a ConfigError holding every problem; returns only a config
 * that is good as a whole.
 */
export function loadConfig(opts: SourceOptions): Config {
  const problems: ConfigProblem[] = [];
  const secrets = new Set<string>();
  const sources = readSources(opts, problems);
  const settingEntries = new Map<string, Entry>();
  const programEntries = new Map<string, Entry>();
  const groupEntries = new Map<string, Entry[]>();
  const listenerEntries = new Map<string, Entry>();

  for (const source of sources) {
    problems.push(...source.syntaxProblems());
    if (source.doc.errors.length > 0) continue;
    const r = new ValueReader(source, opts.env, problems, true, secrets);
    const root = source.doc.contents as Node | null;
    if (root === null || (isScalar(root) && root.value === null)) continue;
    if (!isMap(root)) {
      r.fail(root, '', `expected a map with settings, programs and groups, got ${describe(root)}`);
      continue;
    }
    for (const pair of root.items as Pair<Node, Node>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const value = pair.value as Node;
      if (key === 'include') continue; // read by readSources
      if (key === 'eventlisteners') collectPrograms(r, value, listenerEntries, key);
      else if (key === 'settings') {
        if (checkSettingsNode(r, value)) for (const p of mapPairs(value)) settingEntries.set(p.name, { reader: r, key: p.key, value: p.value });
      } else if (key === 'programs') collectPrograms(r, value, programEntries);
      else if (key === 'groups') collectGroups(r, value, groupEntries);
      else {
        const hint = closest(key, [...TOP_KEYS, 'eventlisteners']);
        r.fail(pair.key, key, `unknown key "${key}"${hint ? `, did you mean "${hint}"?` : ''}`);
      }
    }
  }

  const settings: Settings = structuredClone(DEFAULT_SETTINGS);
  for (const [name, e] of settingEntries) applySetting(e.reader, name, e.key, e.value, settings);
  applyEnvOverrides(opts, settings, problems, secrets);
  if ((settings.httpUsername === undefined) !== (settings.httpPassword === undefined)) {
    const missing = settings.httpUsername === undefined ? 'http_username' : 'http_password';
    const e = settingEntries.get('http_username') ?? settingEntries.get('http_password');
    const message = `http_username and http_password go together: ${missing} is missing`;
    if (e) e.reader.fail(e.key, `settings.${missing}`, message);
    else problems.push({ file: `env:RINGMASTER_${missing.toUpperCase()}`, line: 1, col: 1, path: `settings.${missing}`, message });
  }

  const programs: ProgramConfig[] = [];
  for (const [name, e] of programEntries) {
    const p = readProgram(e.reader, name, e.key, e.value, settings, opts.etcDir);
    if (p) programs.push(p);
  }
  for (const [name, e] of listenerEntries) {
    const program = programEntries.get(name);
    if (program) {
      const { line, col } = program.reader.source.pos(program.key);
      e.reader.fail(e.key, `eventlisteners.${name}`, `has the name of a program (${program.reader.source.file}:${line}:${col})`);
      continue;
    }
    const p = readProgram(e.reader, name, e.key, e.value, settings, opts.etcDir, true);
    if (p) programs.push(p);
  }
  const groups = readGroups(groupEntries, programEntries, programs);
  keepUsr2ForLogs(settings, programs, settingEntries.has('forward_signals') || opts.env.RINGMASTER_FORWARD_SIGNALS !== undefined);
  checkDependencies(programs, new Set(programEntries.keys()), problems);
  checkStageDependencies(programs, problems);
  checkProcessNames(programs, problems);

  if (problems.length > 0 || sources.length === 0) {
    problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
    // A message may quote a value ("expected true or false, got …"): never a secret's.
    const redact = redactor(secrets);
    throw new ConfigError(problems.map((p) => ({ ...p, message: redact(p.message) })));
  }
  programs.sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { settings, programs, groups, files: sources.map((s) => s.file), warnings: sources.flatMap((s) => s.warnings), secrets: [...secrets] };
}

/**
 * SIGUSR2 reopens the log files (logrotate's `postrotate kill -USR2`). Forwarded by default as
 * well, it killed every program that does not trap it (issue #12, 21): with log files and no
 * `forward_signals` of the user's, it is ringmaster's alone. Listed in `forward_signals`, it does both.
 */
function keepUsr2ForLogs(settings: Settings, programs: ProgramConfig[], explicit: boolean): void {
  if (explicit || !programs.some((p) => p.stdoutLogfile || p.stderrLogfile)) return;
  settings.forwardSignals = settings.forwardSignals.filter((s) => s !== 'SIGUSR2');
}

function mapPairs(node: Node): Array<{ name: string; key: Node; value: Node }> {
  return (isMap(node) ? (node.items as Pair<Node, Node>[]) : []).map((p) => ({
    name: isScalar(p.key) ? String(p.key.value) : '',
    key: p.key,
    value: p.value as Node,
  }));
}

/**
 * SPEC §1: `RINGMASTER_<SETTING>` wins over every file, checked like a value in a file. SPEC §11:
 * `RINGMASTER_<SETTING>_FILE=PATH` gives the value in a file instead (Docker secrets); both at
 * once is an error, as in the official images' file_env.
 */
function applyEnvOverrides(opts: SourceOptions, settings: Settings, problems: ConfigProblem[], secrets: Set<string>): void {
  for (const key of SETTINGS_KEYS) {
    const variable = `RINGMASTER_${key.toUpperCase()}`;
    let given = opts.env[variable];
    const fromFile = opts.env[`${variable}_FILE`];
    if (fromFile !== undefined) {
      const at = { file: `env:${variable}_FILE`, line: 1, col: 1, path: `settings.${key}` };
      if (given !== undefined) {
        problems.push({ ...at, message: `${variable} and ${variable}_FILE are both set: use one` });
        continue;
      }
      try {
        given = readSecretFile(path.resolve(opts.cwd, fromFile));
      } catch (err) {
        problems.push({ ...at, message: `cannot read ${path.resolve(opts.cwd, fromFile)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        continue;
      }
      secrets.add(given);
    }
    if (given === undefined) continue;
    // A password like `{SHA}ab12…` or `pa$$word`, or a path, is text, not YAML and not a
    // template: taken exactly as written (no YAML parsing, no `${}` or `$$` interpolation).
    const verbatim = VERBATIM_SETTINGS.has(key);
    const text = verbatim ? JSON.stringify(given) : given;
    const source = new EnvSource(variable, text, opts.cwd);
    const syntax = source.syntaxProblems();
    if (syntax.length > 0) {
      problems.push(...syntax.map((p) => ({ ...p, path: `settings.${key}` })));
      continue;
    }
    const value = source.doc.contents as Node;
    applySetting(new ValueReader(source, opts.env, problems, !verbatim, secrets), key, value, value, settings);
  }
}

/** Entries of `programs:` (or `eventlisteners:`) merged by name across files; the same one twice is an error. */
function collectPrograms(r: ValueReader, node: Node, into: Map<string, Entry>, top = 'programs'): void {
  if (isScalar(node) && node.value === null) return;
  if (!isMap(node)) return void r.fail(node, top, `expected a map of ${top === 'programs' ? 'program' : 'event listener'} names, got ${describe(node)}`);
  for (const p of mapPairs(node)) {
    const previous = into.get(p.name);
    if (previous) {
      const at = previous.reader.source;
      const { line, col } = at.pos(previous.key);
      r.fail(p.key, `${top}.${p.name}`, `defined twice (also at ${at.file}:${line}:${col})`);
      continue;
    }
    into.set(p.name, { reader: r, key: p.key, value: p.value });
  }
}

/** Entries of `groups:`; a group named in several files gets the members of all of them. */
function collectGroups(r: ValueReader, node: Node, into: Map<string, Entry[]>): void {
  if (isScalar(node) && node.value === null) return;
  if (!isMap(node)) return void r.fail(node, 'groups', `expected a map of group names, got ${describe(node)}`);
  for (const p of mapPairs(node)) {
    const list = into.get(p.name) ?? [];
    list.push({ reader: r, key: p.key, value: p.value });
    into.set(p.name, list);
  }
}

function readGroups(entries: Map<string, Entry[]>, programEntries: Map<string, Entry>, programs: ProgramConfig[]): GroupConfig[] {
  const groups: GroupConfig[] = [];
  const owner = new Map<string, string>();
  for (const [name, list] of entries) {
    const members: string[] = [];
    for (const e of list) {
      const r = e.reader;
      const path = `groups.${name}`;
      if (!/^[^\s:/]+$/.test(name)) r.fail(e.key, path, 'a group name may not contain spaces, ":" or "/"');
      if (!isSeq(e.value)) {
        r.fail(e.value ?? e.key, path, `expected a list of program names, got ${describe(e.value)}`);
        continue;
      }
      (e.value.items as Node[]).forEach((item, i) => {
        const member = r.text(item, `${path}[${i}]`);
        if (member === undefined) return;
        if (!programEntries.has(member)) {
          const hint = closest(member, [...programEntries.keys()]);
          return void r.fail(item, `${path}[${i}]`, `no program named "${member}"${hint ? `, did you mean "${hint}"?` : ''}`);
        }
        const already = owner.get(member);
        if (already === name) return; // listed twice in the same group: harmless
        if (already !== undefined) return void r.fail(item, `${path}[${i}]`, `program "${member}" is already in group "${already}"`);
        owner.set(member, name);
        members.push(member);
      });
    }
    const first = list[0];
    groups.push({ name, programs: members, source: { file: first.reader.source.file, ...first.reader.source.pos(first.key) } });
  }
  for (const p of programs) p.group = owner.get(p.name) ?? p.name;
  return groups;
}

export { ConfigError } from './types';
export type { Config } from './types';
