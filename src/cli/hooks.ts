// SPEC §10 hooks: a program's pre_start, post_start, pre_stop and post_stop commands, run the way
// the program itself runs (its user, directory, umask and environment, in a process group of
// their own) plus RINGMASTER_PROGRAM and RINGMASTER_HOOK. Their output goes through the output
// multiplexer under the program's process name. The state machine (supervisor/process.ts)
// decides when each runs and what its failure means; this only runs one, bounded.
import type { HookName } from '../config/types';
import { resolveUser } from '../config/users';
import { describeExit, shellCode, spawnFailureCode } from '../exit-status';
import { spawnProcess, SpawnError } from '../pid1/spawn';
import { trySignal } from '../signal-util';
import type { Log, ProcessSpec } from '../types';
import { programEnv, runsAs, type LaunchOptions } from './launch';

/** The process groups of the hooks running now: the failsafe takes them down with the programs (SPEC §4). */
const running = new Set<number>();
export function liveHookGroups(): number[] {
  return [...running];
}

/**
 * Run `hook` of `spec` once; resolves with 0 on success, else the code it failed with (its
 * exit code, 128+N for a signal, 126/127 when it could not be run). At `timeoutMs`, or when
 * `signal` aborts (the program is killed), its whole process group gets SIGKILL. A failure is a
 * warning (stderr).
 */
export async function runHook(spec: ProcessSpec, hook: HookName, timeoutMs: number, signal: AbortSignal, opts: LaunchOptions, log: Log): Promise<number> {
  const program = spec.program;
  const command = program.hooks[hook];
  if (!command) return 0;
  if (signal.aborted) return 1;
  const user = program.user ? resolveUser(program.user) : undefined;
  const env = { ...programEnv(spec, opts, user), RINGMASTER_PROGRAM: program.name, RINGMASTER_HOOK: hook };
  let child;
  try {
    child = spawnProcess({ argv: command.argv, env, ...runsAs(program, user), stdin: 'null', stdout: 'pipe', stderr: program.redirectStderr ? 'stdout' : 'pipe' });
  } catch (err) {
    if (!(err instanceof SpawnError)) throw err;
    log(`${spec.name}: ${hook} hook could not be run: ${err.message}`, 'warn');
    return spawnFailureCode(err.code);
  }
  if (child.stdout) void opts.output.attach(spec.name, 'stdout', child.stdout);
  if (child.stderr) void opts.output.attach(spec.name, 'stderr', child.stderr);
  running.add(child.pid);
  const started = Date.now();
  let stoppedBy: string | null = null;
  const killGroup = (why: string) => {
    stoppedBy ??= why;
    trySignal(-child.pid, 'SIGKILL');
  };
  const timer = setTimeout(() => killGroup(`timed out after ${timeoutMs / 1000}s, its process group killed`), timeoutMs);
  const onAbort = () => killGroup('killed with its program');
  signal.addEventListener('abort', onAbort, { once: true });
  const status = await child.exited;
  running.delete(child.pid);
  clearTimeout(timer);
  signal.removeEventListener('abort', onAbort);
  const code = shellCode(status);
  if (code === 0 && stoppedBy === null) {
    log(`${spec.name}: ${hook} hook done in ${Date.now() - started}ms`, 'debug');
    return 0;
  }
  log(`${spec.name}: ${hook} hook failed (${stoppedBy ?? describeExit(status)}): ${command.text}`, 'warn');
  return code === 0 ? 1 : code;
}
