// SPEC §10 stages: the init programs, one at a time in priority order, each to its end, before
// any main program starts; the finish programs the same way after every main program stopped.
// The Supervisor owns the processes and the shutdown; this runs a stage's list through them.
import type { Stage } from '../config/types';
import type { Log } from '../types';
import type { SupervisedProcess } from './process';

/** How an init or finish program ended. */
export interface StageEnd {
  p: SupervisedProcess;
  code: number;
  expected: boolean;
}

export interface StageDeps {
  readonly processes: readonly SupervisedProcess[];
  log: Log;
  /** False once the container is ending at once (shutdown_timeout, a second signal): no more is started. */
  mayContinue(): boolean;
}

export class StageRunner {
  private waiters = new Map<SupervisedProcess, (end: StageEnd) => void>();

  constructor(private readonly deps: StageDeps) {}

  /** The processes of a stage, in start order (the Supervisor keeps them sorted by priority). */
  members(stage: Stage): SupervisedProcess[] {
    return this.deps.processes.filter((p) => p.spec.program.stage === stage && !p.spec.program.disabled);
  }

  /** A process ended for good (exited, FATAL) or was stopped: the stage waiting for it goes on. */
  ended(p: SupervisedProcess, code: number, expected: boolean): void {
    const resolve = this.waiters.get(p);
    if (!resolve) return;
    this.waiters.delete(p);
    resolve({ p, code, expected });
  }

  /**
   * Run the init programs in order; the first that fails ends the stage (and, by the caller, the
   * container with its code). Null when every one ended with an expected code, or the stage
   * was cut short by a shutdown (`shuttingDown`: no further init program starts, even during
   * shutdown_delay).
   */
  async runInit(shuttingDown: () => boolean): Promise<StageEnd | null> {
    for (const p of this.members('init')) {
      if (shuttingDown()) return null;
      this.deps.log(`init: running ${p.name}`);
      const end = await this.runToEnd(p);
      if (shuttingDown() || p.state === 'STOPPED') return null;
      if (!end.expected) return end;
    }
    return null;
  }

  /**
   * Run the finish programs in order, each bounded by its stopwaitsecs (then SIGKILL); a failure
   * is reported and the next one runs. Stops starting new ones once `mayContinue` says so.
   */
  async runFinish(): Promise<void> {
    for (const p of this.members('finish')) {
      if (!this.deps.mayContinue()) {
        this.deps.log(`finish: ${p.name} not run: the shutdown ended at once`, 'warn');
        continue;
      }
      this.deps.log(`finish: running ${p.name}`);
      const limitMs = p.spec.program.stopwaitsecsMs;
      const timer = setTimeout(() => p.kill('stopwaitsecs', `${limitMs / 1000}s`), limitMs);
      const end = await this.runToEnd(p);
      clearTimeout(timer);
      if (!end.expected) this.deps.log(`finish: ${p.name} failed with exit code ${end.code} (the container's exit code is not changed)`, 'warn');
    }
  }

  private runToEnd(p: SupervisedProcess): Promise<StageEnd> {
    // Registered before the start: a command that cannot be spawned ends within start().
    const done = new Promise<StageEnd>((resolve) => this.waiters.set(p, resolve));
    p.start();
    return done;
  }
}
