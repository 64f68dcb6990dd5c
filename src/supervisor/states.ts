// Supervisor's process states and the only moves between them (supervisor/process.py's
// _assertInState calls, as one table). A move that is not in the table is a bug, and is refused.
import { SupervisorError } from '../errors';
import { STATE_CODES, type ProcessState } from '../types';

export { STATE_CODES, type ProcessState };

export const TRANSITIONS: Readonly<Record<ProcessState, readonly ProcessState[]>> = {
  // A start, by request, autostart or a released depends_on.
  STOPPED: ['STARTING'],
  // Up for startsecs; died too soon (a retry or FATAL follows); stopped while starting.
  STARTING: ['RUNNING', 'BACKOFF', 'STOPPING'],
  // Stopped, or exited on its own.
  RUNNING: ['STOPPING', 'EXITED'],
  // The retry comes (or is asked for now), it is given up, or stopped while it waits.
  BACKOFF: ['STARTING', 'FATAL', 'STOPPED'],
  STOPPING: ['STOPPED'],
  // Restarted (autorestart, or by request); a pending restart stopped (ringmaster: Supervisor
  // restarts from EXITED on its next tick, so it has nothing to stop there).
  EXITED: ['STARTING', 'STOPPED'],
  FATAL: ['STARTING'],
  UNKNOWN: [],
};

export function canMove(from: ProcessState, to: ProcessState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws ILLEGAL_TRANSITION unless the table has the move. */
export function assertMove(name: string, from: ProcessState, to: ProcessState): void {
  if (!canMove(from, to)) throw new SupervisorError('ILLEGAL_TRANSITION', { target: name, detail: `${from} -> ${to}` });
}

/** States in which the process (or a pending retry of it) is still "running" for Supervisor. */
export const RUNNING_STATES: ReadonlySet<ProcessState> = new Set(['STARTING', 'RUNNING', 'BACKOFF']);
export const SIGNALLABLE_STATES: ReadonlySet<ProcessState> = new Set(['STARTING', 'RUNNING', 'STOPPING']);
