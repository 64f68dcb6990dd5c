import { constants } from 'node:os';

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: number | null;
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

export function signalName(num: number): string {
  return SIGNAL_NAMES[num] ?? `signal ${num}`;
}

export function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name];
}

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

/** A death by signal is never expected (Supervisor reports its status as -1). */
export function isExpected(s: ExitStatus, exitcodes: readonly number[]): boolean {
  return s.signal === null && s.code !== null && exitcodes.includes(s.code);
}
