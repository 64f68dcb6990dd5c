// A process as the API shows it (types.ts ProcessSnapshot), and its line in the exit summary.
import type { HealthState, ProcessSnapshot, ScheduleState } from '../types';
import { describeExit, isExpected } from '../exit-status';
import { CAUSE_TEXT, killedText, stopText, type SupervisedProcess } from './process';
import { STATE_CODES } from './states';

const seconds = (ms: number) => (ms > 0 ? Math.floor(ms / 1000) : 0);

export function snapshotOf(p: SupervisedProcess, health: HealthState | undefined, waiting: string, schedule: ScheduleState | null = null): ProcessSnapshot {
  const program = p.spec.program;
  const stopped = p.stopRecord && !p.active ? { ...p.stopRecord, text: stopText(p.stopRecord) } : null;
  return {
    name: p.name,
    group: p.spec.group,
    namespec: p.spec.namespec,
    program: program.name,
    state: p.state,
    statecode: STATE_CODES[p.state],
    pid: p.pid,
    lastPid: p.lastPid,
    start: p.spawns > 0 ? seconds(p.startedAt) : 0,
    stop: seconds(p.stoppedAt),
    since: seconds(p.stateSince),
    restarts: p.restarts,
    tries: p.tries,
    exitstatus: p.lastExit ? p.exitCode() : null,
    exit: p.lastExit,
    expected: p.lastExit ? isExpected(p.lastExit, program.exitcodes) : null,
    spawnerr: p.spawnError?.message ?? '',
    description: p.description,
    restartAt: p.sub.kind === 'restart' ? Math.ceil(p.sub.at / 1000) : null,
    waiting,
    stopped,
    health: health ? { ...health, since: seconds(health.since) } : null,
    stage: program.stage,
    autostart: program.autostart && !program.disabled,
    disabled: program.disabled,
    hasHealthcheck: program.healthcheck !== undefined,
    listener: program.eventListener !== undefined,
    stdoutLogfile: program.stdoutLogfile?.path ?? '',
    stderrLogfile: program.stderrLogfile?.path ?? '',
    schedule,
  };
}

/** `web: STOPPED, exit code 137 (killed by SIGKILL after stopwaitsecs 10s), stopped by shutdown, 0 restarts`. */
export function summaryLine(p: SupervisedProcess): string {
  if (p.spawns === 0) return `${p.name}: ${p.state}, never started`;
  const r = p.stopRecord;
  const exit = p.spawnError
    ? `${p.spawnError.message}`
    : p.lastExit
      ? `exit code ${p.exitCode()} (${(r && killedText(r)) ?? describeExit(p.lastExit)})`
      : 'still running';
  const why = r ? `, stopped by ${CAUSE_TEXT[r.cause]}` : '';
  const restarts = `${p.restarts} restart${p.restarts === 1 ? '' : 's'}`;
  return `${p.name}: ${p.state}, ${exit}${why}, ${restarts}`;
}
