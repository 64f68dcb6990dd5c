import { hostname } from 'node:os';
import type { ProgramConfig } from '../config/types';
import type { ProcessSpec } from './process';

/**
 * Python %-formatting with names, as Supervisor expands process_name:
 * `%(program_name)s_%(process_num)02d` -> `worker_01`. `%%` is a literal `%`.
 */
export function expandTemplate(template: string, names: Record<string, string | number>): string {
  return template.replace(/%%|%\((\w+)\)([-0 +#]*)(\d*)([sdi])/g, (whole, key, flags, width, conv) => {
    if (whole === '%%') return '%';
    const value = names[key];
    if (value === undefined) throw new Error(`unknown name %(${key}) in "${template}"`);
    let text = conv === 's' ? String(value) : String(Math.trunc(Number(value)));
    const w = Number(width || 0);
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

/** One spec per process of a program: numprocs of them, numbered from numprocs_start. */
export function processSpecs(program: ProgramConfig): ProcessSpec[] {
  const specs: ProcessSpec[] = [];
  for (let i = 0; i < program.numprocs; i++) {
    const processNum = program.numprocsStart + i;
    const name = expandTemplate(program.processName, {
      program_name: program.name,
      group_name: program.group,
      process_num: processNum,
      numprocs: program.numprocs,
      host_node_name: hostname(),
    });
    const namespec = program.group === name ? name : `${program.group}:${name}`;
    specs.push({ program, name, group: program.group, namespec, processNum });
  }
  return specs;
}
