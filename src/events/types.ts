// Supervisor's events as listeners read them (the types themselves are in src/types.ts).
import type { SupervisorEvent } from '../types';

export { EVENT_TYPE_NAMES, subscribes, type ProcessChange, type SupervisorEvent } from '../types';

/** The payload exactly as Supervisor writes it: `k:v k:v` and, with data, "\n" + data. */
export function payloadText(e: SupervisorEvent): string {
  const tokens = e.fields.map(([k, v]) => `${k}:${v}`).join(' ');
  return e.data === undefined ? tokens : `${tokens}\n${e.data}`;
}
