// Exit-code arithmetic, in one place (as tini keeps it): wait status -> code, the 126/127 rule
// for a command that cannot be run, and the code a process gives the container (SPEC §5).
import { signalName } from './signal-util';
import type { ExitStatus, ProcessState } from './types';

export type { ExitStatus };
export { signalName };

/** The shell's convention: the exit code, or 128+N when killed by signal N. */
export function shellCode(s: ExitStatus): number {
  if (s.signal !== null) return 128 + s.signal;
  return s.code ?? 0;
}

/** Supervisor's wording: `exit status 1` or `terminated by SIGTERM`. */
export function describeExit(s: ExitStatus): string {
  if (s.signal !== null) return `terminated by ${signalName(s.signal)}`;
  return `exit status ${s.code}`;
}

/**
 * A death the kernel's OOM killer caused (pid1/oom.ts tells it from another SIGKILL), in every
 * interface's words: the process's own SIGKILL, or the 137 of a shell that ran the victim.
 */
export function describeOomExit(s: ExitStatus): string {
  return s.signal !== null ? "killed by SIGKILL from the kernel's OOM killer" : `exit status ${s.code} after the kernel's OOM killer killed a process of its group`;
}

/** A death by signal is never expected (Supervisor reports its status as -1). */
export function isExpected(s: ExitStatus, exitcodes: readonly number[]): boolean {
  return s.signal === null && s.code !== null && exitcodes.includes(s.code);
}

/** A shell's status and words for a command that could not be started: 127 not found, else 126. */
export function spawnFailureCode(errno: string): 126 | 127 {
  return errno === 'ENOENT' || errno === 'ENOTDIR' ? 127 : 126;
}

/**
 * SPEC §5: what a process that ended for good gives the container: 126/127 when it could not be
 * run, 1 when it went FATAL after exiting 0 too quickly, else its last exit (128+N by signal).
 */
export function exitCodeOf(state: ProcessState, lastExit: ExitStatus | null, spawnErrno: string | null): number {
  if (state === 'FATAL' && spawnErrno) return spawnFailureCode(spawnErrno);
  if (!lastExit) return 0;
  if (state === 'FATAL' && lastExit.signal === null && lastExit.code === 0) return 1;
  return shellCode(lastExit);
}
