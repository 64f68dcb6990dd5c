// The SupervisorApi over the running Supervisor: the one place where a front end's request
// becomes an action on a process, with one set of rules for every interface (SPEC §6).
import type { Bus } from '../bus';
import { ConfigError, formatProblem, type Config } from '../config/types';
import { SupervisorError, type ErrorCode } from '../errors';
import { parseSignal } from '../signal-util';
import type { Log, ProcessSpec, StreamName } from '../types';
import type { ApiEvent, LogRange, LogSlice, Outcome, ProcessUsage, ProgramInfo, ReloadResult, Results, SupervisorApi, SupervisorStatus } from './api';
import { MAX_STDIN_QUEUED, type SupervisedProcess } from './process';
import { processSpecs } from './process-names';
import { RUNNING_STATES, SIGNALLABLE_STATES } from './states';
import type { Supervisor } from './supervisor';

/** A stream's recent output as the output module keeps it (output/tail.ts TailBuffer). */
export interface LogBuffer {
  readonly total: number;
  slice(from: number, to: number): Buffer;
  last(bytes?: number): Buffer;
  follow(listener: (chunk: Buffer) => void): () => void;
  clear(): void;
}

/** What the API needs of the output module, handed in by cli/run.ts. */
export interface LogStore {
  tail(name: string, stream: StreamName, create?: boolean): LogBuffer | undefined;
  mainLog(): LogBuffer;
  clearLogs(name: string): void;
}

export interface LocalApiDeps {
  supervisor: Supervisor;
  bus: Bus;
  logs: LogStore;
  /** A ringmaster line; warnings go to stderr. */
  log: Log;
  /** Read the config files again; throws ConfigError. */
  readConfig(): Config;
  /** Supervisor's pre-check: a missing command is NO_FILE, a bad one NOT_EXECUTABLE (null: fine). */
  checkCommand?(spec: ProcessSpec): { code: 'NO_FILE' | 'NOT_EXECUTABLE'; message: string } | null;
  sampleUsage?(pids: number[]): Promise<Map<number, ProcessUsage>>;
}

interface Target {
  single: boolean;
  processes: SupervisedProcess[];
}

const fail = (code: ErrorCode, target?: string, detail?: string) => new SupervisorError(code, { target, detail });

export class LocalSupervisorApi implements SupervisorApi {
  private readonly sup: Supervisor;

  constructor(private readonly deps: LocalApiDeps) {
    this.sup = deps.supervisor;
  }

  async status(): Promise<SupervisorStatus> {
    return { state: this.sup.isShuttingDown ? 'SHUTDOWN' : 'RUNNING', pid: process.pid, version: this.sup.changes };
  }

  async list(opts: { usage?: boolean } = {}) {
    const processes = [...this.sup.processes];
    const snapshots = processes.map((p) => this.sup.snapshot(p));
    if (!opts.usage || !this.deps.sampleUsage) return snapshots;
    const use = await this.deps.sampleUsage(processes.map((p) => p.pid));
    return snapshots.map((s) => ({ ...s, usage: s.pid > 0 ? (use.get(s.pid) ?? null) : null }));
  }

  async get(name: string) {
    return this.sup.snapshot(this.one(name));
  }

  async programs(): Promise<ProgramInfo[]> {
    const inUse = new Set(this.sup.programs.map((p) => p.name));
    return this.sup.latestPrograms.map((p) => ({
      name: p.name,
      group: p.group,
      inUse: inUse.has(p.name),
      autostart: p.autostart && !p.disabled,
      priority: p.priority,
      numprocs: p.numprocs,
      processes: processSpecs(p).map((s) => s.name),
      command: this.sup.redact(p.commandText),
      directory: p.directory === undefined ? null : this.sup.redact(p.directory),
      user: p.user ?? null,
      exitcodes: p.exitcodes,
      killasgroup: p.killasgroup,
      redirectStderr: p.redirectStderr,
      startretries: p.startretries,
      startsecs: Math.round(p.startsecsMs / 1000),
      stopsignal: p.stopsignal,
      stopwaitsecs: Math.round(p.stopwaitsecsMs / 1000),
      stdoutLogfile: p.stdoutLogfile ? { ...p.stdoutLogfile } : null,
      stderrLogfile: p.stderrLogfile ? { ...p.stderrLogfile } : null,
    }));
  }

  async start(name: string, opts: { wait?: boolean } = {}): Promise<Results> {
    this.notShuttingDown();
    const t = this.resolve(name);
    const wait = opts.wait ?? true;
    if (t.single) return { single: true, outcomes: [await this.outcome(t.processes[0], 'started', () => this.startOne(t.processes[0], wait))] };
    return { single: false, outcomes: await this.each(t.processes.filter(isStartable), 'started', (p) => this.startOne(p, wait)) };
  }

  async stop(name: string, opts: { wait?: boolean } = {}): Promise<Results> {
    this.notShuttingDown();
    const t = this.resolve(name);
    const wait = opts.wait ?? true;
    if (t.single) return { single: true, outcomes: [await this.outcome(t.processes[0], 'stopped', () => this.stopOne(t.processes[0], wait, 'stop'))] };
    const stoppable = t.processes.filter((p) => isStoppable(p) || p.sub.kind === 'waiting');
    return { single: false, outcomes: await this.each(stoppable, 'stopped', (p) => this.stopOne(p, wait, 'stop')) };
  }

  async restart(name: string): Promise<Results> {
    this.notShuttingDown();
    const t = this.resolve(name);
    const running = t.processes.filter(isStoppable);
    const stopped = (await this.each(running, 'stopped', (p) => this.stopOne(p, true, 'restart'))).filter((o) => o.ok);
    const started = await this.each(t.single ? t.processes : t.processes.filter(isStartable), 'started', (p) => this.startOne(p, true));
    return { single: t.single, outcomes: [...stopped, ...started] };
  }

  async signal(name: string, signal: string | number): Promise<Results> {
    this.notShuttingDown();
    const t = this.resolve(name);
    const sig = parseSignal(String(signal));
    if (!sig) throw fail('BAD_SIGNAL', name, String(signal));
    const act = (p: SupervisedProcess) => {
      if (!SIGNALLABLE_STATES.has(p.state)) throw fail('NOT_RUNNING', p.spec.namespec);
      if (!p.signal(sig)) throw fail('FAILED', p.spec.namespec, `${p.spec.namespec}: could not send ${sig}`);
    };
    if (t.single) return { single: true, outcomes: [await this.outcome(t.processes[0], 'signalled', () => act(t.processes[0]))] };
    const running = t.processes.filter((p) => SIGNALLABLE_STATES.has(p.state));
    return { single: false, outcomes: await this.each(running, 'signalled', act) };
  }

  async sendStdin(name: string, data: Buffer): Promise<void> {
    this.notShuttingDown();
    const p = this.one(name);
    const r = await p.writeStdin(data);
    if (r === 'STDIN_FULL') throw fail(r, p.spec.namespec, `more than ${MAX_STDIN_QUEUED} bytes wait for it`);
    if (r !== 'ok') throw fail(r, p.spec.namespec);
  }

  async readLog(name: string | null, stream: StreamName, range: LogRange): Promise<LogSlice> {
    const buffer = this.buffer(name, stream, false);
    if (!buffer) return { data: Buffer.alloc(0), total: 0 };
    if ('last' in range) return { data: buffer.last(range.last), total: buffer.total };
    return { data: buffer.slice(range.from, range.to ?? buffer.total), total: buffer.total };
  }

  followLog(name: string | null, stream: StreamName, back: number, onChunk: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    const buffer = this.buffer(name, stream, true)!;
    const first = buffer.last(back);
    if (first.length > 0) onChunk(first);
    if (signal.aborted) return Promise.resolve();
    const stop = buffer.follow(onChunk);
    return new Promise((resolve) =>
      signal.addEventListener('abort', () => {
        stop();
        resolve();
      }, { once: true }),
    );
  }

  async clearLog(name: string | null): Promise<void> {
    if (name === null) this.deps.logs.mainLog().clear();
    else this.deps.logs.clearLogs(this.one(name).name);
  }

  /** The one reload path (SIGHUP, `ctl reload`, XML-RPC restart); with `wait: false` it answers once the config was read. */
  async reload(opts: { wait?: boolean } = {}): Promise<ReloadResult> {
    const next = this.readConfig('reload');
    this.notShuttingDown();
    const log = this.deps.log;
    log('reloading the config');
    const applied = this.sup.reload(next).then((diff) => {
      const said = (Object.entries(diff) as [string, string[]][]).filter(([, names]) => names.length > 0);
      log(`reloaded: ${said.map(([what, names]) => `${what} ${names.join(', ')}`).join('; ') || 'nothing changed'}`);
      return diff;
    });
    if (opts.wait === false) {
      applied.catch((err: Error) => log(`reload failed: ${err.message}`, 'error'));
      return { added: [], changed: [], removed: [] };
    }
    return applied;
  }

  async reread(): Promise<ReloadResult> {
    this.notShuttingDown();
    return this.sup.reread(this.readConfig('reread'));
  }

  async addGroup(name: string): Promise<void> {
    const r = this.sup.addGroup(name);
    if (r !== 'ok') throw fail(r, name);
  }

  async removeGroup(name: string): Promise<void> {
    const r = this.sup.removeGroup(name);
    if (r !== 'ok') throw fail(r, name);
  }

  async sendRemoteEvent(type: string, data: string): Promise<void> {
    this.deps.bus.emit('remote', { type, data });
  }

  async shutdown(): Promise<void> {
    this.sup.shutdown('shutdown asked for by ctl');
  }

  subscribe(listener: (event: ApiEvent) => void): () => void {
    // Snapshot and subscription in one synchronous step: no event can fall between them.
    for (const p of this.sup.processes) listener({ type: 'snapshot', process: this.sup.snapshot(p) });
    const { bus } = this.deps;
    const offs = [
      bus.on('process.state', ({ process, from, to }) => listener({ type: 'state', process, from, to })),
      bus.on('process.health', ({ spec, from, to, state }) => listener({ type: 'health', spec, from, to, state })),
      bus.on('supervisor.event', (event) => listener({ type: 'supervisor', event })),
    ];
    return () => offs.forEach((off) => off());
  }

  private readConfig(why: string): Config {
    try {
      return this.deps.readConfig();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) this.deps.log(`${why}: ${formatProblem(p)}`, 'error');
      this.deps.log(`${why} refused: ${err.problems.length} problem(s) in the config; nothing was changed`, 'error');
      throw fail('CANT_REREAD', undefined, err.message);
    }
  }

  private notShuttingDown(): void {
    if (this.sup.isShuttingDown) throw fail('SHUTDOWN_STATE');
  }

  /**
   * supervisorctl's names: `all`, `group:*` or `group:`, `group:name`, a process name, or a
   * group name (the whole group). Unknown names are BAD_NAME, never guessed.
   */
  private resolve(name: string): Target {
    const all = this.sup.processes;
    if (name === 'all') return { single: false, processes: [...all] };
    const colon = name.indexOf(':');
    if (colon >= 0) {
      const group = name.slice(0, colon);
      const rest = name.slice(colon + 1);
      if (rest === '' || rest === '*') {
        const members = all.filter((p) => p.spec.group === group);
        if (members.length === 0) throw fail('BAD_NAME', name);
        return { single: false, processes: members };
      }
      const p = all.find((q) => q.spec.group === group && q.name === rest);
      if (!p) throw fail('BAD_NAME', name);
      return { single: true, processes: [p] };
    }
    const p = all.find((q) => q.name === name);
    if (p) return { single: true, processes: [p] };
    const members = all.filter((q) => q.spec.group === name);
    if (members.length === 0) throw fail('BAD_NAME', name);
    return { single: false, processes: members };
  }

  private one(name: string): SupervisedProcess {
    const t = this.resolve(name);
    if (!t.single) throw fail('BAD_NAME', name, 'names a group, not one process');
    return t.processes[0];
  }

  private buffer(name: string | null, stream: StreamName, create: boolean): LogBuffer | undefined {
    if (name === null) return this.deps.logs.mainLog();
    return this.deps.logs.tail(this.one(name).name, stream, create);
  }

  private async startOne(p: SupervisedProcess, wait: boolean): Promise<void> {
    const name = p.spec.namespec;
    this.notShuttingDown();
    if (p.spec.program.disabled) throw fail('DISABLED', name);
    const bad = this.deps.checkCommand?.(p.spec);
    if (bad) throw fail(bad.code, name, bad.message);
    if (p.state === 'STARTING' || p.state === 'RUNNING') throw fail('ALREADY_STARTED', name);
    if (p.state === 'STOPPING') throw fail('ABNORMAL_TERMINATION', name, 'it is stopping');
    if (p.state === 'UNKNOWN') throw fail('UNKNOWN_STATE', name);
    const running = wait ? this.untilStarted(p) : null;
    running?.catch(() => {}); // a synchronous spawn failure below is reported instead
    this.sup.startProcess(p);
    if (p.spawnError) throw fail('SPAWN_ERROR', name, p.spawnError.message);
    if (running && (p.state as string) !== 'RUNNING') await running;
  }

  /** Resolves when `p` leaves STARTING for RUNNING; any other move is the start's failure. */
  private untilStarted(p: SupervisedProcess): Promise<void> {
    const name = p.spec.namespec;
    return new Promise((resolve, reject) => {
      const off = this.deps.bus.on('process.state', ({ spec, to }) => {
        if (spec !== p.spec || to === 'STARTING') return;
        off();
        if (to === 'RUNNING') resolve();
        // Exiting within startsecs sets Supervisor's spawnerr ("Exited too quickly"): SPAWN_ERROR.
        else if (to === 'BACKOFF' || to === 'FATAL' || p.spawnError) reject(fail('SPAWN_ERROR', name, p.spawnError?.message ?? p.description));
        else reject(fail('ABNORMAL_TERMINATION', name));
      });
    });
  }

  private async stopOne(p: SupervisedProcess, wait: boolean, cause: 'stop' | 'restart'): Promise<void> {
    this.notShuttingDown();
    if (p.sub.kind === 'waiting') {
      this.sup.cancelWaiting(p);
      return;
    }
    if (!isStoppable(p)) throw fail('NOT_RUNNING', p.spec.namespec);
    const stopped = this.sup.stopProcess(p, cause);
    if (wait) await stopped;
  }

  private async outcome(p: SupervisedProcess, action: string, act: () => unknown): Promise<Outcome> {
    try {
      await act();
      return { ...ids(p), ok: true, action };
    } catch (err) {
      return { ...ids(p), ok: false, error: errorOf(err) };
    }
  }

  /** Act on each at once; the outcomes in the processes' (start) order, whatever order they finish in. */
  private each(processes: readonly SupervisedProcess[], action: string, act: (p: SupervisedProcess) => unknown): Promise<Outcome[]> {
    return Promise.all(processes.map((p) => this.outcome(p, action, () => act(p))));
  }
}

/** Up, on its way up, or a restart pending: what a stop takes (not one already stopping). */
function isStoppable(p: SupervisedProcess): boolean {
  return p.state !== 'STOPPING' && (RUNNING_STATES.has(p.state) || p.sub.kind === 'restart');
}

/** Not up, not on its way up or down: what a group start takes (BACKOFF and a pending restart included). */
function isStartable(p: SupervisedProcess): boolean {
  return p.state !== 'STARTING' && p.state !== 'RUNNING' && p.state !== 'STOPPING';
}

function ids(p: SupervisedProcess) {
  return { name: p.name, group: p.spec.group, namespec: p.spec.namespec };
}

function errorOf(err: unknown): NonNullable<Outcome['error']> {
  if (err instanceof SupervisorError) return { code: err.code, message: err.message, detail: err.detail, target: err.target };
  throw err;
}
