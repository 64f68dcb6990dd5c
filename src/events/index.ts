// Supervisor's event system (reference §4): the listener pools, and what feeds them (state
// changes, output, ticks, ringmaster's own state). It follows the supervisor on the bus; run.ts
// creates one EventSystem; launch hands it listener pipes and output chunks; the events it
// numbered go back on the bus as `supervisor.event` for the JSON stream.
import type { Readable, Writable } from 'node:stream';
import type { Bus } from '../bus';
import type { ProgramConfig } from '../config/types';
import { subscribes, type Log, type ProcessSnapshot, type ProcessSpec, type ProcessState, type SupervisorEvent } from '../types';
import { CaptureFilter } from './capture';
import { EventDispatch } from './dispatch';
import { ListenerPool } from './pool';

export type { SupervisorEvent } from './types';

const TICKS = [5, 60, 3600];

export class EventSystem {
  private readonly dispatch: EventDispatch;
  private readonly pools = new Map<string, { program: ProgramConfig; pool: ListenerPool; remove: () => void }>();
  private readonly removers: Array<() => void> = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private lastTick: Record<number, number> = {};
  private groups = new Set<string>();

  constructor(
    private readonly bus: Bus,
    private readonly log: Log,
  ) {
    this.dispatch = new EventDispatch(bus);
  }

  /** launch: a listener process's stdin and stdout belong to its pool's protocol. */
  attachListener(spec: ProcessSpec, stdin: Writable, stdout: Readable): void {
    this.pools.get(spec.program.name)?.pool.attach(spec.name, stdin, stdout);
  }

  /** launch: a chunk a program with `<stream>_events_enabled` wrote (PROCESS_LOG_*: one per chunk). */
  output(spec: ProcessSpec, pid: number, stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this.dispatch.publish(`PROCESS_LOG_${stream.toUpperCase()}`, [
      ['processname', spec.name], ['groupname', spec.group], ['pid', pid], ['channel', stream],
    ], chunk.toString('utf8'));
  }

  /** Whether events read this stream of the program: PROCESS_LOG events or capture mode. */
  readsStream(spec: ProcessSpec, stream: 'stdout' | 'stderr'): boolean {
    return (stream === 'stdout' ? spec.program.stdoutEvents : spec.program.stderrEvents) || captureMaxBytes(spec, stream) > 0;
  }

  /** launch: with `<stream>_capture_maxbytes`, the output minus captured blocks (PROCESS_COMMUNICATION_*). */
  capture(spec: ProcessSpec, pid: number, stream: 'stdout' | 'stderr', source: Readable): Readable {
    const maxBytes = captureMaxBytes(spec, stream);
    if (maxBytes <= 0) return source;
    const filter = new CaptureFilter(maxBytes, (data) =>
      this.dispatch.publish(`PROCESS_COMMUNICATION_${stream.toUpperCase()}`, [['processname', spec.name], ['groupname', spec.group], ['pid', pid]], data.toString('utf8')),
    );
    // The pipe's end and errors end the filter too, so the output sees EOF as from the pipe.
    source.on('error', (err) => filter.destroy(err));
    return source.pipe(filter);
  }

  /**
   * Follow the supervisor on the bus, from the processes and programs it starts with. Call
   * before `supervisor.start()`: as in supervisord, every group is announced and
   * SUPERVISOR_STATE_CHANGE_RUNNING sent before the first process starts.
   */
  watch(processes: readonly ProcessSnapshot[], programs: readonly ProgramConfig[]): void {
    this.removers.push(
      this.bus.on('process.state', ({ process, from, to }) => this.onState(process, from, to)),
      this.bus.on('supervisor.stopping', () => this.dispatch.publish('SUPERVISOR_STATE_CHANGE_STOPPING', [])),
      this.bus.on('remote', ({ type, data }) => this.dispatch.publish('REMOTE_COMMUNICATION', [['type', type]], data)),
      this.bus.on('processes.changed', (now) => this.sync(now.processes, now.programs)),
    );
    this.sync(processes, programs);
    this.dispatch.publish('SUPERVISOR_STATE_CHANGE_RUNNING', []);
  }

  /**
   * After a start or a reload: one pool per listener program (a changed one gets a fresh pool),
   * PROCESS_GROUP_ADDED / _REMOVED for the groups that came and went.
   */
  private sync(processes: readonly ProcessSnapshot[], programs: readonly ProgramConfig[]): void {
    const listeners = new Map(programs.filter((p) => p.eventListener).map((p) => [p.name, p]));
    for (const [name, entry] of this.pools) {
      if (listeners.get(name) === entry.program) continue;
      entry.pool.close();
      entry.remove();
      this.pools.delete(name);
    }
    for (const [name, program] of listeners) {
      if (this.pools.has(name)) continue;
      const pool = new ListenerPool({ name, ...program.eventListener! }, this.dispatch, this.log);
      this.pools.set(name, { program, pool, remove: this.dispatch.addPool((e) => pool.offer(e)) });
    }
    const now = new Set(processes.map((p) => p.group));
    for (const g of this.groups) if (!now.has(g)) this.dispatch.publish('PROCESS_GROUP_REMOVED', [['groupname', g]], '');
    for (const g of now) if (!this.groups.has(g)) this.dispatch.publish('PROCESS_GROUP_ADDED', [['groupname', g]], '');
    this.groups = now;
    this.armTicks();
  }

  close(): void {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    for (const remove of this.removers.splice(0)) remove();
    for (const { pool, remove } of this.pools.values()) {
      pool.close();
      remove();
    }
    this.pools.clear();
  }

  private onState(p: ProcessSnapshot, from: ProcessState, to: ProcessState): void {
    this.pools.get(p.program)?.pool.processState(p.name, to);
    const fields: SupervisorEvent['fields'] = [['processname', p.name], ['groupname', p.group], ['from_state', from]];
    if (to === 'STARTING' || to === 'BACKOFF') fields.push(['tries', p.tries]);
    else if (to === 'RUNNING' || to === 'STOPPING') fields.push(['pid', p.pid]);
    else if (to === 'EXITED') fields.push(['expected', p.expected ? 1 : 0], ['pid', p.lastPid]);
    else if (to === 'STOPPED') fields.push(['pid', from === 'STOPPING' ? p.lastPid : 0]);
    const change: SupervisorEvent['change'] = { name: p.name, group: p.group, namespec: p.namespec, from, to, pid: p.pid, exitstatus: p.exitstatus };
    if (p.stopped && (to === 'STOPPED' || to === 'EXITED')) change.reason = p.stopped.text;
    this.dispatch.publish(`PROCESS_STATE_${to}`, fields, undefined, change);
  }

  /**
   * TICK_5/60/3600 at each boundary of its period (none at the start itself), and only while a
   * listener pool subscribes to one of them: with none, no timer wakes ringmaster up.
   */
  private armTicks(): void {
    const wanted = [...this.pools.values()].some(({ pool }) => TICKS.some((t) => subscribes(pool.config.events, `TICK_${t}`)));
    if (!wanted) {
      if (this.tickTimer) clearTimeout(this.tickTimer);
      this.tickTimer = undefined;
      return;
    }
    if (this.tickTimer) return;
    const now = Math.floor(Date.now() / 1000);
    for (const period of TICKS) this.lastTick[period] ??= now - (now % period);
    const arm = () => {
      const ms = 5000 - (Date.now() % 5000) + 5;
      this.tickTimer = setTimeout(() => {
        const t = Math.floor(Date.now() / 1000);
        for (const period of TICKS) {
          const slice = t - (t % period);
          if (slice > this.lastTick[period]) {
            this.lastTick[period] = slice;
            this.dispatch.publish(`TICK_${period}`, [['when', slice]]);
          }
        }
        arm();
      }, ms);
      this.tickTimer.unref();
    };
    arm();
  }
}

function captureMaxBytes(spec: ProcessSpec, stream: 'stdout' | 'stderr'): number {
  return (stream === 'stdout' ? spec.program.stdoutCaptureMaxBytes : spec.program.stderrCaptureMaxBytes) ?? 0;
}
