import { resolveExecutable, SpawnError } from '../../pid1/spawn';
import { inheritedEnv } from '../../supervisor/launch';
import { parseSignal } from '../../signal-util';
import type { SupervisedProcess } from '../../supervisor/process';
import { RUNNING_STATES, SIGNALLABLE_STATES, STATE_CODES, type ProcessState } from '../../supervisor/states';
import type { Supervisor } from '../../supervisor/supervisor';
import { stopClock, timedelta } from '../time-text';
import type { RpcStruct } from './codec';
import { FAULTS, RpcFault } from './faults';

// Supervisor's per-process calls (rpcinterface.py) over ringmaster's Supervisor: name lookup,
// start/stop/signal with their faults and `wait`, and the group/all forms with result structs.

/** Supervisor's split_namespec + _getGroupAndProcess: `g:name`, `g:*`/`g:` (the group), `name`. */
export function lookup(sup: Supervisor, name: string): { group: string; members: SupervisedProcess[]; process: SupervisedProcess | null } {
  const colon = name.indexOf(':');
  const group = colon < 0 ? name : name.slice(0, colon);
  let processName: string | null = colon < 0 ? name : name.slice(colon + 1);
  if (processName === '' || processName === '*') processName = null;
  const members = sup.processes.filter((p) => p.spec.group === group);
  if (members.length === 0) throw new RpcFault('BAD_NAME', name);
  if (processName === null) return { group, members, process: null };
  const process = members.find((p) => p.name === processName);
  if (!process) throw new RpcFault('BAD_NAME', name);
  return { group, members, process };
}

/** The processes of a group (the *ProcessGroup calls); BAD_NAME names the group. */
export function groupMembers(sup: Supervisor, group: string): SupervisedProcess[] {
  const members = sup.processes.filter((p) => p.spec.group === group);
  if (members.length === 0) throw new RpcFault('BAD_NAME', group);
  return members;
}

/** Supervisor checks the command before spawning: a missing one is NO_FILE, a bad one NOT_EXECUTABLE. */
function checkCommand(p: SupervisedProcess): void {
  const program = p.spec.program;
  const env = { ...inheritedEnv(), ...program.environment };
  try {
    resolveExecutable(program.argv[0] ?? '', env, program.directory);
  } catch (err) {
    if (!(err instanceof SpawnError)) throw err;
    throw new RpcFault(err.code === 'ENOENT' ? 'NO_FILE' : 'NOT_EXECUTABLE', err.message);
  }
}

/** Resolves when `p` leaves STARTING: RUNNING is success, anything else a fault. */
function waitForRunning(sup: Supervisor, p: SupervisedProcess, name: string): Promise<true> {
  return new Promise((resolve, reject) => {
    const onState = ({ process, to }: { process: SupervisedProcess; to: ProcessState }) => {
      if (process !== p || to === 'STARTING') return;
      sup.off('state', onState);
      if (to === 'RUNNING') resolve(true);
      // Exiting within startsecs sets Supervisor's spawnerr ("Exited too quickly"): SPAWN_ERROR.
      else if (to === 'BACKOFF' || to === 'FATAL' || p.spawnError) reject(new RpcFault('SPAWN_ERROR', name));
      else reject(new RpcFault('ABNORMAL_TERMINATION', name));
    };
    sup.on('state', onState);
  });
}

export async function startOne(sup: Supervisor, p: SupervisedProcess, wait: boolean): Promise<true> {
  const name = p.spec.namespec;
  checkCommand(p);
  if (RUNNING_STATES.has(p.state)) throw new RpcFault('ALREADY_STARTED', name);
  if (p.state === 'UNKNOWN') throw new RpcFault('FAILED', `${name} is in an unknown process state`);
  if (p.state === 'STOPPING') throw new RpcFault('ABNORMAL_TERMINATION', name);
  if (p.spec.program.disabled) throw new RpcFault('FAILED', `${name} is disabled in the config`);
  const running = wait ? waitForRunning(sup, p, name) : null;
  running?.catch(() => {}); // a synchronous spawn failure below is reported instead
  p.start();
  if (p.spawnError) throw new RpcFault('SPAWN_ERROR', name);
  if (!running || p.state === 'RUNNING') return true;
  return running;
}

/** What stopProcess takes: a process on its way up or up, or a restart waiting out its backoff (Supervisor has no such wait); not one already stopping. */
export const isStoppable = (p: SupervisedProcess) => p.state !== 'STOPPING' && (RUNNING_STATES.has(p.state) || p.active);

export async function stopOne(p: SupervisedProcess, wait: boolean): Promise<true> {
  if (!isStoppable(p)) throw new RpcFault('NOT_RUNNING', p.spec.namespec);
  const stopped = p.stop();
  if (wait) await stopped;
  return true;
}

export function parseRpcSignal(signal: string | number): NodeJS.Signals {
  const sig = parseSignal(String(signal));
  if (!sig) throw new RpcFault('BAD_SIGNAL', String(signal));
  return sig;
}

export function signalOne(p: SupervisedProcess, sig: NodeJS.Signals): true {
  if (!SIGNALLABLE_STATES.has(p.state)) throw new RpcFault('NOT_RUNNING', p.spec.namespec);
  if (!p.signal(sig)) throw new RpcFault('FAILED', `${p.spec.namespec}: could not send ${sig}`);
  return true;
}

/**
 * Supervisor's make_allfunc: act on every process that passes `wanted`, all at once; a result
 * struct per process, in the order they finish (failures found at once come first).
 */
export async function forEach(
  processes: readonly SupervisedProcess[],
  wanted: (p: SupervisedProcess) => boolean,
  act: (p: SupervisedProcess) => Promise<unknown> | unknown,
): Promise<RpcStruct[]> {
  const results: RpcStruct[] = [];
  const result = (p: SupervisedProcess, err?: unknown): RpcStruct => {
    if (err === undefined) return { name: p.name, group: p.spec.group, status: FAULTS.SUCCESS, description: 'OK' };
    if (err instanceof RpcFault) return { name: p.name, group: p.spec.group, status: err.code, description: err.message };
    throw err;
  };
  const pending: Promise<void>[] = [];
  for (const p of processes.filter(wanted)) {
    let outcome: unknown;
    try {
      outcome = act(p);
    } catch (err) {
      results.push(result(p, err));
      continue;
    }
    if (outcome instanceof Promise) {
      pending.push(
        outcome.then(
          () => void results.push(result(p)),
          (err: unknown) => void results.push(result(p, err)),
        ),
      );
    } else results.push(result(p));
  }
  await Promise.all(pending);
  return results;
}

export const isRunning = (p: SupervisedProcess) => RUNNING_STATES.has(p.state);
export const isSignallable = (p: SupervisedProcess) => SIGNALLABLE_STATES.has(p.state);

// The group and all forms: each process the single call would take, all at once.
export const startEach = (sup: Supervisor, processes: readonly SupervisedProcess[], wait: boolean) =>
  forEach(processes, (p) => !isRunning(p), (p) => startOne(sup, p, wait));
export const stopEach = (processes: readonly SupervisedProcess[], wait: boolean) => forEach(processes, isStoppable, (p) => stopOne(p, wait));
export const signalEach = (processes: readonly SupervisedProcess[], sig: NodeJS.Signals) => forEach(processes, isSignallable, (p) => signalOne(p, sig));

/** getProcessInfo's struct, key for key (supervisor.md §3.3). */
export function processInfoStruct(p: SupervisedProcess): RpcStruct {
  const start = p.spawns > 0 ? Math.floor(p.startedAt / 1000) : 0;
  const stop = p.stoppedAt > 0 ? Math.floor(p.stoppedAt / 1000) : 0;
  const now = Math.floor(Date.now() / 1000);
  const backingOff = p.state === 'BACKOFF' || p.state === 'FATAL';
  const spawnerr = p.spawnError?.message ?? (backingOff ? p.description : '');
  // Supervisor's exitstatus: the exit code, or -1 for a death by signal.
  const exitstatus = p.lastExit ? (p.lastExit.signal !== null ? -1 : (p.lastExit.code ?? 0)) : 0;
  const stdoutLog = logPath(p, 'stdout');
  let description = '';
  if (p.state === 'RUNNING') description = `pid ${p.pid}, uptime ${timedelta(now - start)}`;
  else if (backingOff) description = spawnerr || `unknown error (try "tail ${p.name}")`;
  else if (p.state === 'STOPPED' || p.state === 'EXITED') description = start ? stopClock(stop || now) : 'Not started';
  return {
    name: p.name,
    group: p.spec.group,
    start,
    stop,
    now,
    state: STATE_CODES[p.state],
    statename: p.state,
    spawnerr,
    exitstatus,
    logfile: stdoutLog,
    stdout_logfile: stdoutLog,
    stderr_logfile: logPath(p, 'stderr'),
    pid: p.pid,
    description,
  };
}

function logPath(p: SupervisedProcess, stream: 'stdout' | 'stderr'): string {
  const file = stream === 'stdout' ? p.spec.program.stdoutLogfile : p.spec.program.stderrLogfile;
  return file?.path ?? '';
}
