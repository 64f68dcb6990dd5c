import type { ProgramConfig } from '../config/types';
import { processNames } from '../config/process-name';
import type { ProcessSpec } from './process';

export { expandTemplate } from '../config/process-name';

/** One spec per process of a program: numprocs of them, numbered from numprocs_start. */
export function processSpecs(program: ProgramConfig): ProcessSpec[] {
  return processNames(program).map((name, i) => {
    const namespec = program.group === name ? name : `${program.group}:${name}`;
    return { program, name, group: program.group, namespec, processNum: program.numprocsStart + i };
  });
}
