import type { ProgramConfig } from '../config/types';
import type { ProcessSpec } from './process';

/**
 * One spec per process of a program: numprocs of them, numbered from numprocs_start, with the
 * names the config expanded (config/process-name.ts, the same expansion `check` validated).
 */
export function processSpecs(program: ProgramConfig): ProcessSpec[] {
  return program.processNames.map((name, i) => {
    const namespec = program.group === name ? name : `${program.group}:${name}`;
    return { program, name, group: program.group, namespec, processNum: program.numprocsStart + i };
  });
}
