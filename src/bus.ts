// The one event bus, at the bottom of the import graph: a typed map from event name to payload.
// The supervisor publishes what happens to processes, the health monitor what its checks see,
// pid1 what it reaped, and Supervisor's event system the events it numbered for its listeners;
// everyone else subscribes. Delivery is synchronous and in subscription order, so a subscriber
// that takes a snapshot and subscribes in one go misses nothing.
import type { ProgramConfig } from './config/types';
import type { ExitStatus, HealthState, HealthStatus, ProcessSnapshot, ProcessSpec, ProcessState, SupervisorEvent } from './types';

export interface BusEvents {
  /** A process moved from one state to another; `process` is taken after the move. */
  'process.state': { process: ProcessSnapshot; spec: ProcessSpec; from: ProcessState; to: ProcessState };
  /** A check result changed a process's health (not published for the first `starting`). */
  'process.health': { spec: ProcessSpec; from: HealthStatus; to: HealthStatus; state: HealthState };
  /** Processes were added or removed (start, reload, addProcessGroup, removeProcessGroup). */
  'processes.changed': { processes: readonly ProcessSnapshot[]; programs: readonly ProgramConfig[] };
  /** The shutdown began (once). */
  'supervisor.stopping': { reason: string; code: number };
  /** A reload applied a new config. */
  'config.reloaded': { added: string[]; changed: string[]; removed: string[] };
  /** sendRemoteCommEvent(type, data): Supervisor's REMOTE_COMMUNICATION. */
  'remote': { type: string; data: string };
  /** An orphan (not one of our programs' leaders) was reaped. */
  'pid1.reaped': { pid: number; status: ExitStatus };
  /** One of Supervisor's events, after its listener pools saw it (so with its serial). */
  'supervisor.event': SupervisorEvent;
}

export type BusEventName = keyof BusEvents;
type Handler<K extends BusEventName> = (payload: BusEvents[K]) => void;

export class Bus {
  private readonly handlers: { [K in BusEventName]?: Set<Handler<K>> } = {};

  /** Subscribe; keep the returned function and call it when the subscriber's owner stops. */
  on<K extends BusEventName>(name: K, handler: Handler<K>): () => void {
    let set = this.handlers[name] as Set<Handler<K>> | undefined;
    if (!set) this.handlers[name] = set = new Set() as never;
    set.add(handler);
    return () => void set.delete(handler);
  }

  emit<K extends BusEventName>(name: K, payload: BusEvents[K]): void {
    const set = this.handlers[name] as Set<Handler<K>> | undefined;
    if (!set) return;
    for (const handler of set) handler(payload);
  }

  /** Whether anyone listens (a publisher may skip building a payload nobody reads). */
  has(name: BusEventName): boolean {
    return (this.handlers[name]?.size ?? 0) > 0;
  }
}
