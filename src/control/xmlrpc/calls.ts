// Supervisor's per-process calls (rpcinterface.py) over the SupervisorApi: the single form
// answers true or a fault, the group and all forms an array of result structs; the structs of
// getProcessInfo, key for key (supervisor.md §3.3).
import { SupervisorError } from '../../errors';
import { describeOomExit } from '../../exit-status';
import type { Outcome, ProcessSnapshot, Results } from '../../supervisor/api';
import { stopClock, scheduleText, timedelta } from '../time-text';
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

/** Supervisor's spawnerr: the spawn error, or for BACKOFF and FATAL why it is there. */
function spawnError(p: ProcessSnapshot): string {
  return p.spawnerr || (p.state === 'BACKOFF' || p.state === 'FATAL' ? p.description : '');
}

/** Supervisor's description (`pid 12, uptime 0:03:10`, `Exited too quickly …`): getProcessInfo's and the web page's. */
export function supervisorDescription(p: ProcessSnapshot, now = Math.floor(Date.now() / 1000)): string {
  const base = stateDescription(p, now);
  if (!p.schedule) return base;
  return p.state === 'STOPPED' || p.state === 'EXITED' ? scheduleText(p) : `${base}; ${scheduleText(p)}`;
}

function stateDescription(p: ProcessSnapshot, now: number): string {
  // A program's STATUS= (sd_notify) follows Supervisor's words; STARTING says what it waits for.
  if (p.state === 'RUNNING') return `pid ${p.pid}, uptime ${timedelta(now - p.start)}${p.description ? `, ${p.description}` : ''}`;
  if (p.state === 'STARTING') return p.description;
  if (p.state === 'BACKOFF' || p.state === 'FATAL') return spawnError(p) || `unknown error (try "tail ${p.name}")`;
  if (p.state === 'STOPPED' || p.state === 'EXITED') {
    const description = p.start ? stopClock(p.stop || now) : 'Not started';
    // Only a kill is worth a word next to Supervisor's stop time: an asked-for stop is the norm.
    if (p.oomKilled && p.exit) return `${description} (${describeOomExit(p.exit)})`;
    return p.stopped?.killed ? `${description} (${p.stopped.text})` : description;
  }
  return '';
}

/** getProcessInfo's struct. */
export function processInfoStruct(p: ProcessSnapshot): RpcStruct {
  const now = Math.floor(Date.now() / 1000);
  const spawnerr = spawnError(p);
  // Supervisor's exitstatus: the exit code, or -1 for a death by signal.
  const exitstatus = p.exit ? (p.exit.signal !== null ? -1 : (p.exit.code ?? 0)) : 0;
  const description = supervisorDescription(p, now);
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
