// The error catalog: every error the supervisor API gives, with a stable code, the fields it
// carries and its message. Front ends map codes to their own words in one table each (XML-RPC
// faults in control/xmlrpc/faults.ts, JSON names in control/json-api.ts, supervisorctl's exit
// codes in cli/ctl.ts); none of them makes up its own errors for what the API decides.

export interface ErrorFields {
  /** The process, group or name the call was about, as the caller wrote it or its namespec. */
  target?: string;
  /** What went wrong in detail (the spawn error, the config problems, the bad signal). */
  detail?: string;
}

const CATALOG = {
  BAD_NAME: (f: ErrorFields) => `no such process: ${f.target}`,
  BAD_SIGNAL: (f: ErrorFields) => `not a signal: ${f.detail}`,
  BAD_ARGUMENTS: (f: ErrorFields) => `bad arguments${f.detail ? `: ${f.detail}` : ''}`,
  ALREADY_STARTED: (f: ErrorFields) => `${f.target} is already started`,
  NOT_RUNNING: (f: ErrorFields) => `${f.target} is not running`,
  DISABLED: (f: ErrorFields) => `${f.target} is disabled in the config`,
  NO_FILE: (f: ErrorFields) => f.detail ?? `${f.target}: no such file`,
  NOT_EXECUTABLE: (f: ErrorFields) => f.detail ?? `${f.target}: not executable`,
  SPAWN_ERROR: (f: ErrorFields) => `${f.target} could not be started${f.detail ? `: ${f.detail}` : ''}`,
  ABNORMAL_TERMINATION: (f: ErrorFields) => `${f.target} ended while it was starting${f.detail ? ` (${f.detail})` : ''}`,
  STDIN_CLOSED: (f: ErrorFields) => `${f.target} has no open stdin`,
  STDIN_FULL: (f: ErrorFields) => `${f.target} is not reading its stdin${f.detail ? ` (${f.detail})` : ''}`,
  UNKNOWN_STATE: (f: ErrorFields) => `${f.target} is in an unknown process state`,
  SHUTDOWN_STATE: () => 'ringmaster is shutting down',
  ALREADY_ADDED: (f: ErrorFields) => `${f.target} is already added`,
  STILL_RUNNING: (f: ErrorFields) => `${f.target} still has processes running`,
  CANT_REREAD: (f: ErrorFields) => `the config has problems; nothing was changed:\n${f.detail}`,
  ILLEGAL_TRANSITION: (f: ErrorFields) => `${f.target}: ${f.detail} is not a move Supervisor's state machine makes`,
  FAILED: (f: ErrorFields) => f.detail ?? 'failed',
} as const;

export type ErrorCode = keyof typeof CATALOG;
export const ERROR_CODES = Object.keys(CATALOG) as ErrorCode[];

/** An error of the supervisor API: a code from the catalog and the fields behind its message. */
export class SupervisorError extends Error {
  readonly target?: string;
  readonly detail?: string;

  constructor(
    readonly code: ErrorCode,
    fields: ErrorFields = {},
  ) {
    super(CATALOG[code](fields));
    this.name = 'SupervisorError';
    this.target = fields.target;
    this.detail = fields.detail;
  }
}

export function isSupervisorError(err: unknown): err is SupervisorError {
  return err instanceof SupervisorError;
}
