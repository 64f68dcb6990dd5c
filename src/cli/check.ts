import { formatProblem } from '../config/types';
import { loadOrReport } from './run';

/** `ringmaster check`: validate the config, print every problem, exit 0 or 2. */
export function check(file: string | undefined): number {
  const config = loadOrReport(file);
  if (!config) return 2;
  for (const w of config.warnings ?? []) process.stderr.write(`warning: ${formatProblem(w)}\n`);
  const processes = config.programs.reduce((n, p) => n + p.numprocs, 0);
  process.stdout.write(`${config.files.join(', ')}: OK (${config.programs.length} programs, ${processes} processes)\n`);
  return 0;
}
