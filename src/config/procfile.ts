// Procfiles (SPEC §11): `name: command` lines, as foreman and honcho read them. Each line becomes
// a program run through /bin/sh -c, with the `.env` beside the Procfile as its env_file and PORT
// as foreman sets it: base + 100 × the line's index (base: PORT of that .env, else ringmaster's
// own PORT variable, else 5000).
// The programs are a YAML document whose nodes point into the Procfile, so the ordinary
// validator reports a problem at the Procfile's line and column; `convert` prints the same one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Document, Pair, Scalar, YAMLMap, type Node } from 'yaml';
import { parseEnvFile } from './envfile';
import { MAX_ENV_FILE_BYTES, readConfigText } from './read-file';
import { Source } from './sources';
import type { ConfigProblem } from './types';

/** `Procfile`, or any `*.procfile`. */
export function isProcfile(file: string): boolean {
  const base = path.basename(file);
  return base === 'Procfile' || /\.procfile$/i.test(base);
}

export const DEFAULT_BASE_PORT = 5000;
const PORT_STEP = 100;

interface Entry {
  name: string;
  command: string;
  nameAt: number;
  commandAt: number;
}

interface Procfile {
  entries: Entry[];
  problems: ConfigProblem[];
  /** The .env beside it, when there is one (relative to the Procfile's directory). */
  envFile?: string;
  basePort: number;
}

// foreman's pattern: a name of word characters and dashes, a colon, the command.
const LINE = /^([A-Za-z0-9_-]+):[ \t]*(.*)$/;

function parse(file: string, text: string, env: NodeJS.ProcessEnv): Procfile {
  const entries: Entry[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  let offset = 0;
  text.split('\n').forEach((raw, i) => {
    const start = offset;
    offset += raw.length + 1;
    const line = raw.replace(/\r$/, '');
    const lead = line.length - line.trimStart().length;
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const at = (col: number, message: string, key = '') => problems.push({ file, line: i + 1, col: col + 1, path: key, message });
    const m = LINE.exec(t);
    if (!m) return void at(lead, `expected "name: command" (a name of letters, digits, _ and -), got "${t.length > 60 ? `${t.slice(0, 60)}…` : t}"`);
    const [, name, command] = m;
    if (command.trim() === '') return void at(lead, 'has no command after the colon', `programs.${name}.command`);
    const before = seen.get(name);
    if (before !== undefined) return void at(lead, `defined twice (also at ${file}:${before})`, `programs.${name}`);
    seen.set(name, i + 1);
    entries.push({ name, command: command.trim(), nameAt: start + lead, commandAt: start + lead + t.indexOf(command) });
  });
  const dir = path.dirname(file);
  const envPath = path.join(dir, '.env');
  const port = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined);
  let basePort = port(env.PORT) ?? DEFAULT_BASE_PORT;
  let envFile: string | undefined;
  if (existsSync(envPath)) {
    envFile = '.env';
    try {
      // A PORT that is not a number is not a base; it stays the program's business.
      basePort = port(parseEnvFile(readConfigText(envPath, MAX_ENV_FILE_BYTES)).env.PORT) ?? basePort;
    } catch {
      /* reported by env_file when the programs are read */
    }
  }
  return { entries, problems, envFile, basePort };
}

/**
 * The programs of a Procfile as a YAML document. Commands are escaped (`$` as `$$`): a Procfile's
 * `$PORT` and `${PORT}` are the shell's, with the program's environment, not ringmaster's.
 */
function toDocument(p: Procfile, withPositions: boolean): Document {
  const at = <T extends Node>(n: T, offset: number): T => {
    if (withPositions) n.range = [offset, offset, offset];
    return n;
  };
  const programs = new YAMLMap();
  p.entries.forEach((e, i) => {
    const prog = at(new YAMLMap(), e.nameAt);
    const add = (key: string, value: Node) => prog.items.push(new Pair(at(new Scalar(key), e.nameAt), value));
    add('command', at(new Scalar(e.command.replace(/\$/g, '$$$$')), e.commandAt));
    add('shell', at(new Scalar(true), e.nameAt));
    if (p.envFile) add('env_file', at(new Scalar(p.envFile), e.nameAt));
    const env = at(new YAMLMap(), e.nameAt);
    env.items.push(new Pair(at(new Scalar('PORT'), e.nameAt), at(new Scalar(String(p.basePort + PORT_STEP * i)), e.nameAt)));
    add('environment', env);
    programs.items.push(new Pair(at(new Scalar(e.name), e.nameAt), prog));
  });
  const root = new YAMLMap();
  root.items.push(new Pair(new Scalar('programs'), programs));
  const doc = new Document();
  doc.contents = root;
  return doc;
}

/** A Procfile as a config Source (`ringmaster -c Procfile`). */
export function readProcfile(file: string, text: string, env: NodeJS.ProcessEnv): Source {
  const p = parse(file, text, env);
  const source = new Source(file, text, path.dirname(file), toDocument(p, true));
  let offset = 0;
  for (const line of text.split('\n')) {
    source.lines.addNewLine(offset);
    offset += line.length + 1;
  }
  source.readProblems.push(...p.problems);
  return source;
}

/** `ringmaster convert Procfile`: the equivalent YAML, and the Procfile's own problems. */
export function procfileToYaml(file: string, text: string, env: NodeJS.ProcessEnv): { yaml: string; problems: ConfigProblem[] } {
  const p = parse(file, text, env);
  const doc = toDocument(p, false);
  doc.commentBefore = [
    ` Converted from ${file} by ringmaster convert.`,
    ' Each line runs through /bin/sh -c ($$ is a literal $ here: the shell expands $PORT).',
    ` PORT as foreman sets it: ${p.basePort} for the first line, +100 for each next one${p.envFile ? ' (base from .env)' : ''}.`,
    p.envFile ? ' env_file is relative to this file: keep it beside the .env, as the Procfile was.' : '',
  ].filter((l) => l !== '').join('\n');
  return { yaml: doc.toString({ lineWidth: 0 }), problems: p.problems };
}
