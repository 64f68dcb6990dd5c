// Supervisor's event types (supervisor/events.py EventTypes): the concrete ones a listener
// receives, and the abstract ones it may subscribe to, which stand for all their subtypes.

const PARENTS: Record<string, string | null> = {
  EVENT: null,
  PROCESS_STATE: 'EVENT',
  PROCESS_STATE_STOPPED: 'PROCESS_STATE',
  PROCESS_STATE_EXITED: 'PROCESS_STATE',
  PROCESS_STATE_STARTING: 'PROCESS_STATE',
  PROCESS_STATE_STOPPING: 'PROCESS_STATE',
  PROCESS_STATE_BACKOFF: 'PROCESS_STATE',
  PROCESS_STATE_FATAL: 'PROCESS_STATE',
  PROCESS_STATE_RUNNING: 'PROCESS_STATE',
  PROCESS_STATE_UNKNOWN: 'PROCESS_STATE',
  PROCESS_COMMUNICATION: 'EVENT',
  PROCESS_COMMUNICATION_STDOUT: 'PROCESS_COMMUNICATION',
  PROCESS_COMMUNICATION_STDERR: 'PROCESS_COMMUNICATION',
  PROCESS_LOG: 'EVENT',
  PROCESS_LOG_STDOUT: 'PROCESS_LOG',
  PROCESS_LOG_STDERR: 'PROCESS_LOG',
  REMOTE_COMMUNICATION: 'EVENT',
  SUPERVISOR_STATE_CHANGE: 'EVENT',
  SUPERVISOR_STATE_CHANGE_RUNNING: 'SUPERVISOR_STATE_CHANGE',
  SUPERVISOR_STATE_CHANGE_STOPPING: 'SUPERVISOR_STATE_CHANGE',
  TICK: 'EVENT',
  TICK_5: 'TICK',
  TICK_60: 'TICK',
  TICK_3600: 'TICK',
  PROCESS_GROUP: 'EVENT',
  PROCESS_GROUP_ADDED: 'PROCESS_GROUP',
  PROCESS_GROUP_REMOVED: 'PROCESS_GROUP',
};

/** Every name `events:` accepts. */
export const EVENT_TYPE_NAMES = Object.keys(PARENTS);

/** Whether a listener subscribed to `subscribed` receives an event of type `name`. */
export function subscribes(subscribed: readonly string[], name: string): boolean {
  for (let t: string | null = name; t !== null; t = PARENTS[t] ?? null) if (subscribed.includes(t)) return true;
  return false;
}

/** One event, as published: typed fields for the JSON stream, Supervisor's text for listeners. */
export interface SupervisorEvent {
  name: string;
  /** The payload's `key:value` tokens, in Supervisor's order. */
  fields: Array<[string, string | number]>;
  /** What follows the token line after a "\n" (output data, captured text); absent for none. */
  data?: string;
  time: number;
  /** Set the first time a listener pool accepts the event (reference §4.2); null if none did. */
  serial: number | null;
  /** For PROCESS_STATE_*: the change itself, for the JSON stream. */
  change?: ProcessChange;
}

export interface ProcessChange {
  name: string;
  group: string;
  namespec: string;
  from: string;
  to: string;
  /** The pid now (0 once the process is gone). */
  pid: number;
  exitstatus: number | null;
}

/** The payload exactly as Supervisor writes it: `k:v k:v` and, with data, "\n" + data. */
export function payloadText(e: SupervisorEvent): string {
  const tokens = e.fields.map(([k, v]) => `${k}:${v}`).join(' ');
  return e.data === undefined ? tokens : `${tokens}\n${e.data}`;
}
