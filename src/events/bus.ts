import type { SupervisorEvent } from './types';

export type EventSink = (event: SupervisorEvent) => void;

/**
 * Where every event is published. Listener pools are offered each event first (the first one
 * that accepts it gives it its global serial), then the other subscribers (the JSON stream)
 * see it with that serial.
 */
export class EventBus {
  private readonly pools = new Set<EventSink>();
  private readonly sinks = new Set<EventSink>();
  private nextSerial = 0;

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

  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  publish(name: string, fields: SupervisorEvent['fields'], data?: string, change?: SupervisorEvent['change']): void {
    const event: SupervisorEvent = { name, fields, data, time: Date.now(), serial: null, change };
    for (const pool of this.pools) pool(event);
    for (const sink of this.sinks) sink(event);
  }
}
