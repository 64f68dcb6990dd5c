import type { ExitPolicy } from '../config/types';
import type { SupervisedProcess } from './process';

/**
 * SPEC §5: decides, each time a process ends for good, whether the container ends now and with
 * which code. `all` ends with 0 when every process ended with an expected code, else with the
 * first unexpected code seen.
 */
export class ExitPolicyJudge {
  private firstUnexpected: number | null = null;

  constructor(
    private readonly policy: ExitPolicy,
    private readonly processes: readonly SupervisedProcess[],
  ) {}

  /** The exit code to end the container with, or null to keep going. */
  onEnded(p: SupervisedProcess, code: number, expected: boolean): number | null {
    // Event listeners serve the programs: under any/all they neither end the container nor
    // keep it alive (`critical: true` on one still counts).
    const listener = p.spec.program.eventListener !== undefined;
    if (listener && this.policy !== 'critical') return null;
    if (!expected && this.firstUnexpected === null) this.firstUnexpected = code;
    switch (this.policy) {
      case 'critical':
        return p.spec.program.critical ? code : null;
      case 'any':
        return code;
      case 'all':
        // Scheduled jobs, like listeners, neither end the container nor keep it alive.
        if (this.processes.some((q) => q.active && q.spec.program.eventListener === undefined && !q.spec.program.schedule)) return null;
        return this.firstUnexpected ?? 0;
    }
  }
}
