// Process names from a program's `process_name` template. `check` and `run` expand them with this
// one function, so a config that `check` accepts never fails to expand in `run` (issue #12, 13).
import { hostname } from 'node:os';
import type { ConfigProblem, ProgramConfig } from './types';

/** Widths past this are refused, before any padding is built (`%(program_name)0600000000s`). */
export const MAX_TEMPLATE_WIDTH = 255;
/** A process name is a file name (AUTO log files) and an output prefix. */
export const MAX_PROCESS_NAME = 255;
/** numprocs above this would be a fork bomb from one typo (`numprocs: 9007199254740991`). */
export const MAX_NUMPROCS = 1000;

/**
 * Python %-formatting with names, as Supervisor expands process_name:
 * `%(program_name)s_%(process_num)02d` -> `worker_01`. `%%` is a literal `%`. Throws on an
 * unknown name or a width above MAX_TEMPLATE_WIDTH.
 */
export function expandTemplate(template: string, names: Record<string, string | number>): string {
  return template.replace(/%%|%\((\w+)\)([-0 +#]*)(\d*)([sdi])/g, (whole, key, flags, width, conv) => {
    if (whole === '%%') return '%';
    const value = Object.hasOwn(names, key) ? names[key] : undefined;
    if (value === undefined) throw new Error(`unknown name %(${key}) in "${template}" (known: ${Object.keys(names).join(', ')})`);
    const w = Number(width || 0);
    if (w > MAX_TEMPLATE_WIDTH) throw new Error(`width ${width} in "${template}" is more than ${MAX_TEMPLATE_WIDTH}`);
    let text = conv === 's' ? String(value) : String(Math.trunc(Number(value)));
    if (text.length < w) {
      const left = flags.includes('-');
      const zero = flags.includes('0') && !left && conv !== 's';
      if (left) text = text.padEnd(w);
      else if (zero) text = (text.startsWith('-') ? '-' + text.slice(1).padStart(w - 1, '0') : text.padStart(w, '0'));
      else text = text.padStart(w);
    }
    return text;
  });
}

/** The names of a program's processes, numbered from numprocs_start (its group already set). */
export function processNames(program: ProgramConfig): string[] {
  const names: string[] = [];
  const host = hostname();
  for (let i = 0; i < program.numprocs; i++) {
    names.push(expandTemplate(program.processName, {
      program_name: program.name,
      group_name: program.group,
      process_num: program.numprocsStart + i,
      numprocs: program.numprocs,
      host_node_name: host,
    }));
  }
  return names;
}

/** Why an expanded name cannot be used, or undefined. */
export function badProcessName(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > MAX_PROCESS_NAME) return `is longer than ${MAX_PROCESS_NAME} characters`;
  if (/[\s:/]/.test(name)) return 'contains a space, ":" or "/" (it names AUTO log files and is part of group:name)';
  if (name === '.' || name === '..') return `is "${name}"`;
  return undefined;
}

/**
 * Every process name of the config expands (as `run` will expand it), is usable as a file name
 * and a namespec part, and belongs to one process only: two programs expanding to the same name
 * would share an output prefix, a tail and an AUTO log file.
 */
export function checkProcessNames(programs: ProgramConfig[], problems: ConfigProblem[]): void {
  const owners = new Map<string, ProgramConfig>();
  for (const program of programs) {
    const at = { ...program.source, path: `${program.eventListener ? 'eventlisteners' : 'programs'}.${program.name}.process_name` };
    let names: string[];
    try {
      names = processNames(program);
    } catch (err) {
      problems.push({ ...at, message: (err as Error).message });
      continue;
    }
    for (const name of names) {
      const bad = badProcessName(name);
      if (bad) {
        problems.push({ ...at, message: `expands to "${name.length > 80 ? `${name.slice(0, 80)}…` : name}", which ${bad}` });
        break;
      }
      const other = owners.get(name);
      if (other) {
        const where = other === program ? 'another process of this program' : `program "${other.name}" (${other.source.file}:${other.source.line}:${other.source.col})`;
        problems.push({ ...at, message: `expands to "${name}", the name of ${where} too` });
        break;
      }
      owners.set(name, program);
    }
    program.processNames = names;
  }
}
