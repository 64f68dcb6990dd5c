import type { Bus } from '../bus';
import type { SupervisorEvent } from '../types';

export type EventSink = (event: SupervisorEvent) => void;

/**
 * Where Supervisor's events are numbered and handed out. Listener pools are offered each event
 * first (the first one that accepts it gives it its global serial); then it goes on the bus as
 * `supervisor.event`, with that serial, for everyone else (the JSON stream).
 */
export class EventDispatch {
  private readonly pools = new Set<EventSink>();
  private nextSerial = 0;

  constructor(private readonly bus: Bus) {}

  /** The next global serial (Supervisor's GlobalSerial: from 0, once per accepted event). */
  takeSerial(): number {
    const s = this.nextSerial;
    this.nextSerial = this.nextSerial >= Number.MAX_SAFE_INTEGER ? 0 : this.nextSerial + 1;
    return s;
  }

  addPool(pool: EventSink): () => void {
    this.pools.add(pool);
    return () => this.pools.delete(pool);
  }

  publish(name: string, fields: SupervisorEvent['fields'], data?: string, change?: SupervisorEvent['change']): void {
    const event: SupervisorEvent = { name, fields, data, time: Date.now(), serial: null, change };
    for (const pool of this.pools) pool(event);
    this.bus.emit('supervisor.event', event);
  }
}
