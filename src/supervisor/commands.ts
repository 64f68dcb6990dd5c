import type { SupervisedProcess } from './process';
import { STATE_CODES, type ProcessState } from './states';
import type { Supervisor } from './supervisor';

/** Supervisor's fault names, shared by the JSON API, the ctl client and later XML-RPC. */
export type Fault = 'BAD_NAME' | 'ALREADY_STARTED' | 'NOT_RUNNING' | 'SPAWN_ERROR' | 'ABNORMAL_TERMINATION' | 'SHUTDOWN_STATE' | 'DISABLED' | 'BAD_SIGNAL';

export interface ProcessInfo {
  name: string;
  group: string;
  namespec: string;
  state: ProcessState;
  statecode: number;
  pid: number;
  /** Unix seconds of the last start, 0 if never. */
  start: number;
  /** Unix seconds when it entered its current state (a stop time for STOPPED/EXITED). */
  since: number;
  now: number;
  exitstatus: number | null;
  spawnerr: string;
  description: string;
  restarts: number;
}

export interface Outcome {
  name: string;
  ok: boolean;
  /** What was done, in supervisorctl's words: 'started', 'stopped', 'signalled'. */
  action?: string;
  fault?: Fault;
  message?: string;
}

export function processInfo(p: SupervisedProcess): ProcessInfo {
  return {
    name: p.name,
    group: p.spec.group,
    namespec: p.spec.namespec,
    state: p.state,
    statecode: STATE_CODES[p.state],
    pid: p.pid,
    start: p.spawns > 0 ? Math.floor(p.startedAt / 1000) : 0,
    since: Math.floor(p.stateSince / 1000),
    now: Math.floor(Date.now() / 1000),
    exitstatus: p.lastExit ? p.exitCode() : null,
    spawnerr: p.spawnError?.message ?? '',
    description: p.description,
    restarts: p.restarts,
  };
}

/**
 * Names as supervisorctl takes them: `all`, `group:*` (or `group:`), `group:name`, a process
 * name, or a group name (all its processes). Unknown names are reported, not guessed.
 */
export function resolveNames(sup: Supervisor, names: readonly string[]): { processes: SupervisedProcess[]; unknown: string[] } {
  const out = new Set<SupervisedProcess>();
  const unknown: string[] = [];
  for (const name of names) {
    let hits: SupervisedProcess[];
    if (name === 'all') hits = sup.processes;
    else if (name.endsWith(':*') || name.endsWith(':')) {
      const group = name.slice(0, name.indexOf(':'));
      hits = sup.processes.filter((p) => p.spec.group === group);
    } else if (name.includes(':')) hits = sup.processes.filter((p) => p.spec.namespec === name);
    else {
      hits = sup.processes.filter((p) => p.name === name);
      if (hits.length === 0) hits = sup.processes.filter((p) => p.spec.group === name);
    }
    if (hits.length === 0) unknown.push(name);
    for (const p of hits) out.add(p);
  }
  return { processes: [...out], unknown };
}

/** Start and wait until it is RUNNING, or has failed (Supervisor's startProcess with wait). */
export function startProcess(sup: Supervisor, p: SupervisedProcess): Promise<Outcome> {
  const name = p.spec.namespec;
  if (sup.isShuttingDown) return Promise.resolve({ name, ok: false, fault: 'SHUTDOWN_STATE' });
  if (p.spec.program.disabled) return Promise.resolve({ name, ok: false, fault: 'DISABLED', message: 'disabled in the config' });
  if (p.state === 'STARTING' || p.state === 'RUNNING' || p.state === 'STOPPING') {
    return Promise.resolve({ name, ok: false, fault: 'ALREADY_STARTED' });
  }
  return new Promise((resolve) => {
    const onState = ({ process, to }: { process: SupervisedProcess; to: ProcessState }) => {
      if (process !== p) return;
      if (to === 'RUNNING') finish({ name, ok: true, action: 'started' });
      else if (to === 'FATAL' || to === 'BACKOFF' || to === 'EXITED' || to === 'STOPPED') {
        const spawn = p.spawnError !== null;
        finish({ name, ok: false, fault: spawn ? 'SPAWN_ERROR' : 'ABNORMAL_TERMINATION', message: p.spawnError?.message ?? p.description });
      }
    };
    const finish = (o: Outcome) => {
      sup.off('state', onState);
      resolve(o);
    };
    sup.on('state', onState);
    p.start();
  });
}

export async function stopProcess(sup: Supervisor, p: SupervisedProcess): Promise<Outcome> {
  const name = p.spec.namespec;
  if (sup.isShuttingDown) return { name, ok: false, fault: 'SHUTDOWN_STATE' };
  // One still waiting for its dependencies is stopped by not starting it when they are met.
  if (sup.cancelWaiting(p)) return { name, ok: true, action: 'stopped' };
  if (!(p.state === 'STARTING' || p.state === 'RUNNING' || p.state === 'BACKOFF' || p.state === 'STOPPING' || p.active)) {
    return { name, ok: false, fault: 'NOT_RUNNING' };
  }
  await p.stop();
  return { name, ok: true, action: 'stopped' };
}

export function signalProcess(p: SupervisedProcess, sig: NodeJS.Signals): Outcome {
  const name = p.spec.namespec;
  if (p.pid === 0) return { name, ok: false, fault: 'NOT_RUNNING' };
  p.signal(sig);
  return { name, ok: true, action: 'signalled' };
}
