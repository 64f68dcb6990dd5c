// memory_limit (SPEC §10): the resident memory of each limited program's whole process group,
// summed every CHECK_INTERVAL_MS while at least one such process runs; no timer otherwise.
import type { Bus } from '../bus';
import { groupResidentPages } from '../pid1/proc';
import type { ProcessSpec } from '../types';
import { PAGE_SIZE } from './usage';

/**
 * Often enough that a leak is caught within seconds; rare enough that 100 limited programs cost
 * well under 1% of a core (bench/memory-check.mjs). The kernel's own limit, where one is set,
 * acts at once: this one is for the graceful restart before it.
 */
export const CHECK_INTERVAL_MS = 5000;

export interface MemoryWatchDeps {
  /** A process group holds more than its program's memory_limit: restart it (once per run). */
  exceeded(spec: ProcessSpec, rssBytes: number, limitBytes: number): void;
  /** Resident pages per process group (tests and the bench may count differently). */
  measure?(pgids: ReadonlySet<number>): Map<number, number>;
  intervalMs?: number;
}

export class MemoryWatch {
  /** Running processes with a limit, by process group (the leader's pid). */
  private readonly watched = new Map<number, ProcessSpec>();
  private readonly pgids = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly offs: Array<() => void> = [];

  constructor(private readonly deps: MemoryWatchDeps) {}

  /**
   * Watch every process with a memory_limit while it is RUNNING (STARTING's event comes before
   * its pid is known; a start is bounded by startsecs anyway).
   */
  follow(bus: Bus): void {
    this.offs.push(
      bus.on('process.state', ({ spec, process, to }) => {
        if (spec.program.memoryLimit === undefined) return;
        if (to === 'RUNNING' && process.pid > 0) this.add(process.pid, spec);
        else this.remove(spec);
      }),
      bus.on('processes.changed', ({ processes }) => {
        const present = new Set(processes.map((p) => p.namespec));
        for (const spec of [...this.watched.values()]) if (!present.has(spec.namespec)) this.remove(spec);
      }),
    );
  }

  /** How many process groups are watched now (the timer runs only while this is not 0). */
  get size(): number {
    return this.watched.size;
  }

  /** One check of every watched group: the timer's job, public for the bench. */
  check(): void {
    const pages = (this.deps.measure ?? groupResidentPages)(this.pgids);
    for (const [pgid, spec] of [...this.watched]) {
      const rss = (pages.get(pgid) ?? 0) * PAGE_SIZE;
      const limit = spec.program.memoryLimit!;
      if (rss <= limit) continue;
      this.delete(pgid);
      this.deps.exceeded(spec, rss, limit);
    }
  }

  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.watched.clear();
    this.pgids.clear();
    this.arm();
  }

  private add(pgid: number, spec: ProcessSpec): void {
    this.remove(spec);
    this.watched.set(pgid, spec);
    this.pgids.add(pgid);
    this.arm();
  }

  private remove(spec: ProcessSpec): void {
    for (const [pgid, s] of this.watched) if (s === spec) this.delete(pgid);
  }

  private delete(pgid: number): void {
    this.watched.delete(pgid);
    this.pgids.delete(pgid);
    this.arm();
  }

  /** The timer runs exactly while something is watched. */
  private arm(): void {
    if (this.watched.size > 0 && !this.timer) {
      this.timer = setInterval(() => this.check(), this.deps.intervalMs ?? CHECK_INTERVAL_MS);
      this.timer.unref();
    } else if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** `512MB`, `1.5GB`, `530MB`, `900KB`: a size as the config writes it, for ringmaster's lines. */
export function formatSize(bytes: number): string {
  const units: Array<[string, number]> = [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['KB', 1024]];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const v = bytes / size;
      return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)}${unit}`;
    }
  }
  return `${bytes}B`;
}
