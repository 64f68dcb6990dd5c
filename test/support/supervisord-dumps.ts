// Runs Debian's real supervisord (/usr/bin/supervisord) on a config, as the reference that
// ringmaster's reading of supervisord.conf is compared with. Every wait is bounded; supervisord
// is stopped by its pid (it stops its own programs), then SIGKILLed if it hangs.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ringmaster, eventually, sleep } from './ringmaster';

export const SUPERVISORD = '/usr/bin/supervisord';
export const HAVE_SUPERVISORD = existsSync(SUPERVISORD);
export const NO_SUPERVISORD = `${SUPERVISORD} is missing (apt-get install supervisor)`;

/** A program that writes its argv, cwd and environment to $DUMP_DIR/<process name>.json, then waits. */
export const DUMP_PY = `import json, os, sys, time
out = os.path.join(os.environ['DUMP_DIR'], os.environ.get('SUPERVISOR_PROCESS_NAME', 'unknown') + '.json')
with open(out + '.tmp', 'w') as f:
    mask = os.umask(0)
    json.dump({'argv': sys.argv[1:], 'cwd': os.getcwd(), 'umask': mask, 'env': dict(os.environ)}, f)
os.rename(out + '.tmp', out)
time.sleep(3600)
`;

export interface Dump {
  argv: string[];
  cwd: string;
  umask: number;
  env: Record<string, string>;
}

export function writeDumpScript(dir: string): string {
  const file = path.join(dir, 'dump.py');
  writeFileSync(file, DUMP_PY);
  return file;
}

/** The dumps in `dir`, by process name; the directory is emptied for the next run. */
export function takeDumps(dir: string): Record<string, Dump> {
  const out: Record<string, Dump> = {};
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    out[f.slice(0, -'.json'.length)] = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Dump;
    rmSync(path.join(dir, f));
  }
  return out;
}

function dumpsReady(dir: string, names: string[]): boolean {
  return names.every((n) => existsSync(path.join(dir, `${n}.json`)));
}

/** Run supervisord -n on `conf` until every process in `names` has dumped; returns the dumps. */
export async function dumpsOfSupervisord(conf: string, dumpDir: string, names: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Record<string, Dump>> {
  // A file, not a pipe: Node's pipes are socketpairs, and supervisord cannot open /dev/stdout
  // (stdout_logfile=/dev/stdout, the container idiom) on a socket (ENXIO).
  const outFile = path.join(path.dirname(conf), 'supervisord.stdout');
  const fd = openSync(outFile, 'w');
  const proc = spawn(SUPERVISORD, ['-n', '-c', conf], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const output = () => readFileSync(outFile, 'utf8');
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  try {
    // supervisord spawns on its first 1 s tick; a loaded machine may take a few more.
    await eventually(() => dumpsReady(dumpDir, names) || proc.exitCode !== null, 20_000, `supervisord dumps of ${names.join(', ')}`);
    if (!dumpsReady(dumpDir, names)) throw new Error('supervisord exited early');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- supervisord output:\n${output()}`);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  await sleep(50);
  return takeDumps(dumpDir);
}

/** Run ringmaster -c `config` until every process in `names` has dumped; returns the dumps. */
export async function dumpsOfRingmaster(config: string, dumpDir: string, names: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Record<string, Dump>> {
  const rm = new Ringmaster({ args: ['-c', config], env, cwd });
  try {
    await eventually(() => dumpsReady(dumpDir, names) || rm.proc.exitCode !== null, 20_000, `ringmaster dumps of ${names.join(', ')}`);
    if (!dumpsReady(dumpDir, names)) throw new Error('ringmaster exited early');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- stdout:\n${rm.stdout}\n--- stderr:\n${rm.stderr}`);
  } finally {
    if (rm.proc.exitCode === null) rm.proc.kill('SIGTERM');
    await rm.wait(15_000);
  }
  return takeDumps(dumpDir);
}
