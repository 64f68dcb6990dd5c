// Supervisor's process states and their codes (supervisor/states.py), unchanged.

export const STATE_CODES = {
  STOPPED: 0,
  STARTING: 10,
  RUNNING: 20,
  BACKOFF: 30,
  STOPPING: 40,
  EXITED: 100,
  FATAL: 200,
  UNKNOWN: 1000,
} as const;

export type ProcessState = keyof typeof STATE_CODES;

/** States in which the process (or a pending retry of it) is still "running" for Supervisor. */
export const RUNNING_STATES: ReadonlySet<ProcessState> = new Set(['STARTING', 'RUNNING', 'BACKOFF']);
export const STOPPED_STATES: ReadonlySet<ProcessState> = new Set(['STOPPED', 'EXITED', 'FATAL', 'UNKNOWN']);
export const SIGNALLABLE_STATES: ReadonlySet<ProcessState> = new Set(['STARTING', 'RUNNING', 'STOPPING']);
