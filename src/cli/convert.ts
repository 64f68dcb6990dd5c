import path from 'node:path';
import { loadConfig } from '../config';
import { MAX_CONFIG_BYTES, readConfigText } from '../config/read-file';
import { mapIniFile } from '../config/ini/map';
import { mappingToYaml } from '../config/ini/yaml';
import { isProcfile, procfileToYaml } from '../config/procfile';
import { ConfigError, formatProblem } from '../config/types';

/**
 * `ringmaster convert supervisord.conf` (or a Procfile): print the equivalent YAML on stdout. Problems (what
 * `ringmaster -c supervisord.conf` would refuse) go to stderr and make the exit code 2; the YAML
 * is printed anyway so it can be fixed by hand.
 */
export function convert(file: string | undefined): number {
  if (!file) {
    process.stderr.write('ringmaster convert: which file? Usage: ringmaster convert supervisord.conf|Procfile\n');
    return 2;
  }
  const full = path.resolve(file);
  let text: string;
  try {
    text = readConfigText(full, MAX_CONFIG_BYTES);
  } catch (err) {
    process.stderr.write(`ringmaster convert: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return 2;
  }
  process.stdout.write(isProcfile(full) ? procfileToYaml(full, text, process.env).yaml : mappingToYaml(mapIniFile(full, text, process.env)));
  try {
    loadConfig({ file: full, env: process.env, cwd: process.cwd() });
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) process.stderr.write(`${formatProblem(p)}\n`);
    process.stderr.write(`ringmaster convert: ${err.problems.length} problem(s) in ${full}; the YAML above needs them fixed\n`);
    return 2;
  }
}
