// Supervisor's per-process calls (rpcinterface.py) over the SupervisorApi: the single form
// answers true or a fault, the group and all forms an array of result structs; the structs of
// getProcessInfo, key for key (supervisor.md §3.3).
import { SupervisorError } from '../../errors';
import type { Outcome, ProcessSnapshot, Results } from '../../supervisor/api';
import { stopClock, timedelta } from '../time-text';
import type { RpcStruct, RpcValue } from './codec';
import { FAULTS, RpcFault, faultOf } from './faults';

export function resultStruct(o: Outcome): RpcStruct {
  if (o.ok) return { name: o.name, group: o.group, status: FAULTS.SUCCESS, description: 'OK' };
  const f = faultOf(o.error!);
  return { name: o.name, group: o.group, status: f.code, description: f.message };
}

/** A verb's answer as Supervisor gives it: true (or the fault) for one process, structs for many. */
export async function answer(results: Promise<Results>): Promise<RpcValue> {
  const r = await results;
  if (!r.single) return r.outcomes.map(resultStruct);
  const failed = r.outcomes.find((o) => !o.ok);
  if (failed) throw faultOf(failed.error!);
  return true;
}

/** The *ProcessGroup calls take a group name: BAD_NAME names the group as given. */
export async function groupAnswer(group: string, results: (name: string) => Promise<Results>): Promise<RpcValue> {
  try {
    return await answer(results(`${group}:*`));
  } catch (err) {
    if (err instanceof SupervisorError && err.code === 'BAD_NAME') throw new RpcFault('BAD_NAME', group);
    throw err;
  }
}

/** getProcessInfo's struct. */
export function processInfoStruct(p: ProcessSnapshot): RpcStruct {
  const now = Math.floor(Date.now() / 1000);
  const backingOff = p.state === 'BACKOFF' || p.state === 'FATAL';
  const spawnerr = p.spawnerr || (backingOff ? p.description : '');
  // Supervisor's exitstatus: the exit code, or -1 for a death by signal.
  const exitstatus = p.exit ? (p.exit.signal !== null ? -1 : (p.exit.code ?? 0)) : 0;
  let description = '';
  // A program's STATUS= (sd_notify) follows Supervisor's words; STARTING says what it waits for.
  if (p.state === 'RUNNING') description = `pid ${p.pid}, uptime ${timedelta(now - p.start)}${p.description ? `, ${p.description}` : ''}`;
  else if (p.state === 'STARTING') description = p.description;
  else if (backingOff) description = spawnerr || `unknown error (try "tail ${p.name}")`;
  else if (p.state === 'STOPPED' || p.state === 'EXITED') {
    description = p.start ? stopClock(p.stop || now) : 'Not started';
    // Only a kill is worth a word next to Supervisor's stop time: an asked-for stop is the norm.
    if (p.stopped?.killed) description += ` (${p.stopped.text})`;
  }
  return {
    name: p.name,
    group: p.group,
    start: p.start,
    stop: p.stop,
    now,
    state: p.statecode,
    statename: p.state,
    spawnerr,
    exitstatus,
    logfile: p.stdoutLogfile,
    stdout_logfile: p.stdoutLogfile,
    stderr_logfile: p.stderrLogfile,
    pid: p.pid,
    description,
  };
}
