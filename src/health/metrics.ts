// /metrics (SPEC §6): Prometheus text format 0.0.4, sampled when scraped.
import type { ProcessUsage } from '../supervisor/api';
import { STATE_CODES, type ProcessSnapshot, type ProcessState } from '../types';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATES = (Object.keys(STATE_CODES) as ProcessState[]).filter((s) => s !== 'UNKNOWN');
const HEALTH = ['starting', 'healthy', 'unhealthy'] as const;

/** A label value: backslash, double quote and newline escaped. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

class Family {
  readonly lines: string[];
  constructor(name: string, type: 'gauge' | 'counter', help: string) {
    this.lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  }
  add(name: string, labels: string, value: number): void {
    this.lines.push(`${name}{${labels}} ${Number.isFinite(value) ? value : 0}`);
  }
}

/** Every process's state, restarts, health, and (when running) CPU, memory and start time. */
export function renderMetrics(processes: ReadonlyArray<ProcessSnapshot & { usage?: ProcessUsage | null }>, ready: boolean): string {
  const state = new Family('ringmaster_process_state', 'gauge', 'Whether the process is in this state (1) or not (0); Supervisor\'s states.');
  const restarts = new Family('ringmaster_process_restarts_total', 'counter', 'Times the process was started again after its first start.');
  const cpu = new Family('ringmaster_process_cpu_seconds_total', 'counter', 'User and system CPU time of the running process (its leader).');
  const memory = new Family('ringmaster_process_resident_memory_bytes', 'gauge', 'Resident memory of the running process (its leader).');
  const started = new Family('ringmaster_process_start_time_seconds', 'gauge', 'Start time of the running process since the Unix epoch.');
  const health = new Family('ringmaster_process_health', 'gauge', 'Health of a process with a healthcheck (1 for the current status).');
  const checks = new Family('ringmaster_process_health_checks_total', 'counter', 'Healthcheck probes completed since the process last started.');
  const nextRun = new Family('ringmaster_schedule_next_run_timestamp_seconds', 'gauge', 'When the scheduled job runs next, since the Unix epoch.');
  const lastExit = new Family('ringmaster_schedule_last_exit_code', 'gauge', 'Exit code of the last run of the scheduled job that ended (128+N for signal N).');
  const runs = new Family('ringmaster_schedule_runs_total', 'counter', 'Runs of the scheduled job by result (skipped: an overlap skipped it).');
  for (const p of processes) {
    const base = `process="${label(p.namespec)}",group="${label(p.group)}"`;
    for (const s of STATES) state.add('ringmaster_process_state', `${base},state="${s}"`, p.state === s ? 1 : 0);
    restarts.add('ringmaster_process_restarts_total', base, p.restarts);
    const u = p.usage;
    if (p.pid > 0 && u) {
      cpu.add('ringmaster_process_cpu_seconds_total', base, u.cpuSeconds);
      memory.add('ringmaster_process_resident_memory_bytes', base, u.memoryBytes);
      started.add('ringmaster_process_start_time_seconds', base, p.start);
    }
    const h = p.health;
    if (h) for (const s of HEALTH) health.add('ringmaster_process_health', `${base},status="${s}"`, h.status === s ? 1 : 0);
    if (h) checks.add('ringmaster_process_health_checks_total', base, h.checks);
    const job = p.schedule;
    if (job) {
      if (job.next !== null) nextRun.add('ringmaster_schedule_next_run_timestamp_seconds', base, job.next);
      if (job.last?.exitstatus != null) lastExit.add('ringmaster_schedule_last_exit_code', base, job.last.exitstatus);
      for (const result of ['success', 'failure', 'skipped'] as const) runs.add('ringmaster_schedule_runs_total', `${base},result="${result}"`, job.runs[result]);
    }
  }
  const readyz = new Family('ringmaster_ready', 'gauge', 'Whether /readyz answers 200 (1) or 503 (0).');
  readyz.lines.push(`ringmaster_ready ${ready ? 1 : 0}`);
  return [state, restarts, cpu, memory, started, health, checks, nextRun, lastExit, runs, readyz].map((f) => f.lines.join('\n')).join('\n') + '\n';
}
