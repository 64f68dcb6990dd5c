// Runs a scheduled job at its times (SPEC §11): one timer to the next run, never a poll. The
// job is one SupervisedProcess (Supervisor's one-process-per-name model): a run is a start of it.
import { nextRunAfter, rfc3339 } from '../cron';
import { shellCode, isExpected } from '../exit-status';
import type { ScheduleConfig } from '../config/types';
import type { RunResult, ScheduleState } from '../types';
import type { SupervisedProcess } from './process';
import type { ProcessState } from './states';

/** The longest a Node timer holds (2^31-1 ms, 24.8 days): a later run re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Later than this past its time, a run was missed (the clock jumped, the machine slept): said so. */
const LATE_MS = 1000;

export interface JobDeps {
  log(text: string): void;
  /** Start a run now (Supervisor.startProcess). */
  start(p: SupervisedProcess): void;
  /** Stop the running run (overlap: replace). */
  stop(p: SupervisedProcess): Promise<void>;
  /** False once ringmaster shuts down. */
  mayRun(): boolean;
  now?: () => number;
}

export class ScheduledJob {
  private timer: NodeJS.Timeout | undefined;
  private next: number | null = null;
  /** overlap: allow: a run that came while one was going starts as soon as it ends (at most one waits). */
  private queued = false;
  private ended = false;
  private runStart = 0;
  private last: ScheduleState['last'] = null;
  private readonly runs: Record<RunResult, number> = { success: 0, failure: 0, skipped: 0 };
  private readonly anchor: number;
  private readonly now: () => number;

  constructor(
    readonly process: SupervisedProcess,
    private readonly schedule: ScheduleConfig,
    private readonly deps: JobDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.anchor = this.now();
  }

  /** Arm the timer to the first run; @reboot runs now, once. */
  begin(): void {
    if (this.schedule.kind === 'reboot') this.run(this.now());
    this.arm(this.now());
  }

  /** No more runs (the program was removed, or ringmaster shuts down). */
  end(): void {
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.next = null;
    this.queued = false;
  }

  /** Every state change of the job's process: a run that ended is recorded, a queued run starts. */
  onTransition(from: ProcessState, to: ProcessState): void {
    if (to === 'STARTING') this.runStart = this.process.startedAt;
    const ended = to === 'EXITED' || to === 'FATAL' || (to === 'STOPPED' && from === 'STOPPING');
    if (!ended) return;
    const exit = this.process.lastExit;
    const ok = to === 'EXITED' && exit !== null && isExpected(exit, this.process.spec.program.exitcodes);
    const result: RunResult = ok ? 'success' : 'failure';
    this.runs[result]++;
    const start = this.runStart || this.process.startedAt;
    this.last = {
      start: Math.floor(start / 1000),
      startText: rfc3339(start, this.schedule.timezone),
      exitstatus: exit ? shellCode(exit) : to === 'FATAL' ? this.process.exitCode() : null,
      result,
    };
    if (this.queued && to !== 'STOPPED' && this.deps.mayRun()) {
      this.queued = false;
      this.deps.log(`${this.process.name}: starting the run that waited for the previous one (overlap: allow)`);
      this.deps.start(this.process);
    }
  }

  state(): ScheduleState {
    return {
      expression: this.schedule.text,
      timezone: this.schedule.timezone,
      overlap: this.schedule.overlap,
      next: this.next === null ? null : Math.floor(this.next / 1000),
      nextText: this.next === null ? null : rfc3339(this.next, this.schedule.timezone),
      last: this.last,
      runs: { ...this.runs },
    };
  }

  private arm(after: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.next = nextRunAfter(this.schedule, after, this.anchor);
    if (this.next === null || this.ended || !this.deps.mayRun()) return;
    this.setTimer();
  }

  private setTimer(): void {
    const delay = Math.min(Math.max(0, this.next! - this.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    const due = this.next;
    if (due === null || this.ended || !this.deps.mayRun()) return;
    const now = this.now();
    // Timers run on the monotonic clock: after the wall clock went back (or a long wait was cut
    // at MAX_TIMER_MS) the time has not come yet.
    if (now < due) return this.setTimer();
    if (now - due > LATE_MS) {
      this.deps.log(`${this.process.name}: the run due at ${rfc3339(due, this.schedule.timezone)} is ${((now - due) / 1000).toFixed(1)}s late (clock jump or sleep): running it once now`);
    }
    this.run(due);
    // Every time missed meanwhile is covered by this one run.
    this.arm(Math.max(now, due));
  }

  private run(due: number): void {
    const p = this.process;
    const busy = p.state === 'STARTING' || p.state === 'RUNNING' || p.state === 'STOPPING';
    const at = rfc3339(due, this.schedule.timezone);
    if (!busy) return this.deps.start(p);
    switch (this.schedule.overlap) {
      case 'forbid':
        this.runs.skipped++;
        this.deps.log(`${p.name}: run at ${at} skipped: the previous run (pid ${p.pid}) is still going (overlap: forbid)`);
        return;
      case 'allow':
        if (this.queued) this.runs.skipped++;
        this.queued = true;
        this.deps.log(`${p.name}: run at ${at} waits for the previous run (pid ${p.pid}) to end (overlap: allow)`);
        return;
      case 'replace':
        this.deps.log(`${p.name}: run at ${at} replaces the previous run (pid ${p.pid}) (overlap: replace)`);
        void this.deps.stop(p).then(() => {
          if (this.deps.mayRun() && !this.ended) this.deps.start(p);
        });
    }
  }
}
