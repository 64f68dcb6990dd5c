import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';
import { looksLikeIni } from './ini/parser';
import { readIni } from './ini/source';
import { interpolate } from './interpolate';
import { isProcfile, readProcfile } from './procfile';
import { MAX_CONFIG_BYTES, readConfigText } from './read-file';
import type { ConfigProblem } from './types';

/** One parsed YAML source with what is needed to point at a line and column in it. */
export class Source {
  readonly lines = new LineCounter();
  readonly doc: Document;
  /** Things reported but not fatal (a supervisord.conf option with no meaning here). */
  readonly warnings: ConfigProblem[] = [];
  /** Problems found while reading another format into `doc` (src/config/ini). */
  readonly readProblems: ConfigProblem[] = [];

  constructor(
    readonly file: string,
    text: string,
    /** Directory that relative paths (env_file, include) are resolved against. */
    readonly dir: string,
    /** A document built from another format (src/config/ini) instead of parsing `text` as YAML. */
    doc?: Document,
  ) {
    this.doc = doc ?? parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  pos(node: Node | null | undefined): { line: number; col: number } {
    const offset = node?.range?.[0] ?? 0;
    return this.lines.linePos(offset);
  }

  problem(node: Node | null | undefined, path: string, message: string): ConfigProblem {
    return { file: this.file, ...this.pos(node), path, message };
  }

  syntaxProblems(): ConfigProblem[] {
    return [...this.readProblems, ...this.doc.errors.map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      return { file: this.file, line, col, path: '', message: e.message.split('\n')[0] };
    })];
  }
}

/**
 * A `RINGMASTER_<SETTING>` value, read as YAML (so lists and maps take the flow form,
 * `[USR1, USR2]`). Its problems are reported at `env:RINGMASTER_X:1:1`: a variable has no lines.
 */
export class EnvSource extends Source {
  constructor(variable: string, text: string, cwd: string) {
    super(`env:${variable}`, text, cwd);
  }

  override pos(): { line: number; col: number } {
    return { line: 1, col: 1 };
  }

  override syntaxProblems(): ConfigProblem[] {
    return super.syntaxProblems().map((p) => ({ ...p, line: 1, col: 1 }));
  }
}

export const INLINE_NAME = '<RINGMASTER_CONFIG_YAML>';

export interface SourceOptions {
  file?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where passwd and group are read to check `user:` (tests point it at a fake one). */
  etcDir?: string;
}

/** SPEC §1: `-c`, else RINGMASTER_CONFIG, else RINGMASTER_CONFIG_YAML, else the default paths. */
export function readSources(opts: SourceOptions, problems: ConfigProblem[]): Source[] {
  const given = opts.file ?? opts.env.RINGMASTER_CONFIG;
  const ctx: ReadContext = { env: opts.env, problems, seen: new Set() };
  if (given) return readPath(path.resolve(opts.cwd, given), ctx);
  if (opts.env.RINGMASTER_CONFIG_YAML) return withIncludes(new Source(INLINE_NAME, opts.env.RINGMASTER_CONFIG_YAML, opts.cwd), ctx);
  const defaults = ['/etc/ringmaster.yaml', path.resolve(opts.cwd, 'ringmaster.yaml')];
  const found = defaults.find((f) => existsSync(f));
  if (found) return readPath(found, ctx);
  problems.push({ file: defaults[1], line: 1, col: 1, path: '', message: `no config found: tried -c, RINGMASTER_CONFIG, RINGMASTER_CONFIG_YAML, ${defaults.join(', ')}` });
  return [];
}

/** A file, a directory (its *.yaml in name order) or a glob in the last path segment. */
interface ReadContext {
  env: NodeJS.ProcessEnv;
  problems: ConfigProblem[];
  /** Files already read: a file included twice (or an include cycle) is read once. */
  seen: Set<string>;
}

function readPath(target: string, ctx: ReadContext, from?: { source: Source; node: Node }): Source[] {
  const { problems, seen } = ctx;
  const files = expand(target);
  if (files.length === 0) {
    const message = `no config file matches ${target}`;
    problems.push(from ? from.source.problem(from.node, 'include', message) : { file: target, line: 1, col: 1, path: '', message });
    return [];
  }
  const out: Source[] = [];
  for (const file of files) {
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = readConfigText(file, MAX_CONFIG_BYTES);
    } catch (err) {
      const message = `cannot read: ${(err as Error).message}`;
      problems.push(from ? { ...from.source.problem(from.node, 'include', `${file}: ${message}`) } : { file, line: 1, col: 1, path: '', message });
      continue;
    }
    if (isProcfile(file)) out.push(readProcfile(file, text, ctx.env));
    else if (looksLikeIni(file, text)) out.push(...readIni(file, text, ctx.env));
    else out.push(...withIncludes(new Source(file, text, path.dirname(file)), ctx));
  }
  return out;
}

function withIncludes(source: Source, ctx: ReadContext): Source[] {
  const { problems } = ctx;
  const out = [source];
  const root = source.doc.contents;
  if (!isMap(root)) return out;
  const include = (root.items as Pair<Node, Node>[]).find((p) => isScalar(p.key) && p.key.value === 'include');
  if (!include) return out;
  const value = include.value;
  const entries = isSeq(value) ? (value.items as Node[]) : [value];
  for (const entry of entries) {
    if (!isScalar(entry) || typeof entry.value !== 'string') {
      problems.push(source.problem(entry ?? include.key, 'include', 'expected a path or a list of paths'));
      continue;
    }
    const { value: target, error } = interpolate(entry.value, ctx.env);
    if (error) {
      problems.push(source.problem(entry, 'include', error));
      continue;
    }
    out.push(...readPath(path.resolve(source.dir, target), ctx, { source, node: entry }));
  }
  return out;
}

function expand(target: string): string[] {
  if (/[*?]/.test(path.basename(target))) {
    const dir = path.dirname(target);
    const re = globToRegExp(path.basename(target));
    return listDir(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f)).filter(isFile);
  }
  try {
    if (statSync(target).isDirectory()) {
      return listDir(target).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(target, f)).filter(isFile);
    }
  } catch {
    return [];
  }
  return [target];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isFile(f: string): boolean {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}
