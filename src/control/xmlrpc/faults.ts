import type { ErrorCode } from '../../errors';
// Supervisor's fault codes (supervisor/xmlrpc.py Faults), unchanged: clients test for them.
export const FAULTS = {
  UNKNOWN_METHOD: 1,
  INCORRECT_PARAMETERS: 2,
  BAD_ARGUMENTS: 3,
  SIGNATURE_UNSUPPORTED: 4,
  SHUTDOWN_STATE: 6,
  BAD_NAME: 10,
  BAD_SIGNAL: 11,
  NO_FILE: 20,
  NOT_EXECUTABLE: 21,
  FAILED: 30,
  ABNORMAL_TERMINATION: 40,
  SPAWN_ERROR: 50,
  ALREADY_STARTED: 60,
  NOT_RUNNING: 70,
  SUCCESS: 80,
  ALREADY_ADDED: 90,
  STILL_RUNNING: 91,
  CANT_REREAD: 92,
} as const;

export type FaultName = keyof typeof FAULTS;

/** Supervisor's RPCError: faultString is `NAME` or `NAME: extra`. */
export class RpcFault extends Error {
  readonly code: number;
  constructor(
    readonly fault: FaultName,
    readonly extra?: string,
  ) {
    super(extra === undefined ? fault : `${fault}: ${extra}`);
    this.code = FAULTS[fault];
  }
}

/**
 * The API's errors as Supervisor's faults, one row each. `extra` is what follows `NAME: ` in the
 * faultString: Supervisor's fault names a process, or says what was wrong.
 */
const FROM_API: Record<ErrorCode, { fault: FaultName; extra: 'target' | 'detail' | 'message' | 'none' }> = {
  BAD_NAME: { fault: 'BAD_NAME', extra: 'target' },
  BAD_SIGNAL: { fault: 'BAD_SIGNAL', extra: 'detail' },
  BAD_ARGUMENTS: { fault: 'BAD_ARGUMENTS', extra: 'detail' },
  ALREADY_STARTED: { fault: 'ALREADY_STARTED', extra: 'target' },
  NOT_RUNNING: { fault: 'NOT_RUNNING', extra: 'target' },
  DISABLED: { fault: 'FAILED', extra: 'message' },
  NO_FILE: { fault: 'NO_FILE', extra: 'detail' },
  NOT_EXECUTABLE: { fault: 'NOT_EXECUTABLE', extra: 'detail' },
  SPAWN_ERROR: { fault: 'SPAWN_ERROR', extra: 'target' },
  ABNORMAL_TERMINATION: { fault: 'ABNORMAL_TERMINATION', extra: 'target' },
  STDIN_CLOSED: { fault: 'NO_FILE', extra: 'target' },
  STDIN_FULL: { fault: 'FAILED', extra: 'message' },
  UNKNOWN_STATE: { fault: 'FAILED', extra: 'message' },
  SHUTDOWN_STATE: { fault: 'SHUTDOWN_STATE', extra: 'none' },
  ALREADY_ADDED: { fault: 'ALREADY_ADDED', extra: 'target' },
  STILL_RUNNING: { fault: 'STILL_RUNNING', extra: 'target' },
  CANT_REREAD: { fault: 'CANT_REREAD', extra: 'detail' },
  ILLEGAL_TRANSITION: { fault: 'FAILED', extra: 'message' },
  FAILED: { fault: 'FAILED', extra: 'detail' },
};

export function faultOf(err: { code: ErrorCode; message: string; detail?: string; target?: string }): RpcFault {
  const row = FROM_API[err.code];
  const extra = row.extra === 'none' ? undefined : row.extra === 'message' ? err.message : (err[row.extra] ?? undefined);
  return new RpcFault(row.fault, extra);
}
