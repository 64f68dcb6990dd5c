// The ctl side of the control socket: an HTTP request helper, and the SupervisorApi over the
// JSON API, so `ringmaster ctl` holds the same interface as every front end inside ringmaster.
import { request } from 'node:http';
import { SupervisorError, type ErrorCode } from '../errors';
import type { ApiEvent, LogRange, LogSlice, ProcessSnapshot, ProcessUsage, ProgramInfo, ReloadResult, Results, SupervisorApi, SupervisorStatus } from '../supervisor/api';
import type { StreamName, SupervisorEvent } from '../types';

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP request to ringmaster's control socket. `onData` streams the body instead. */
export function call(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  onData?: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        signal,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const parts: Buffer[] = [];
        const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers });
        res.on('data', (c: Buffer) => (onData ? onData(c) : parts.push(c)));
        res.on('end', done);
        res.on('error', (err) => (signal?.aborted ? done() : reject(err)));
      },
    );
    req.on('error', (err) => (signal?.aborted ? resolve({ status: 0, body: '', headers: {} }) : reject(err)));
    req.end(payload);
  });
}

interface JsonResult {
  name: string;
  ok: boolean;
  action?: string;
  fault?: ErrorCode;
  message?: string;
  detail?: string;
}

/** The SupervisorApi of a running ringmaster, over its control socket. */
export class RemoteSupervisorApi implements SupervisorApi {
  constructor(readonly socketPath: string) {}

  async status(): Promise<SupervisorStatus> {
    const { state, pid, version } = await this.json('GET', '/v1/status');
    return { state, pid, version };
  }

  async list(): Promise<Array<ProcessSnapshot & { usage?: ProcessUsage | null }>> {
    const { processes } = await this.json('GET', '/v1/status');
    return (processes as Array<ProcessSnapshot & { cpu: number | null; memory: number | null }>).map(({ cpu, memory, ...p }) => ({
      ...p,
      usage: cpu === null ? null : { cpuPercent: cpu, cpuSeconds: 0, memoryBytes: memory ?? 0 },
    }));
  }

  async get(name: string): Promise<ProcessSnapshot> {
    const p = (await this.list()).find((x) => x.namespec === name || x.name === name);
    if (!p) throw new SupervisorError('BAD_NAME', { target: name });
    return p;
  }

  async programs(): Promise<ProgramInfo[]> {
    return (await this.json('GET', '/v1/avail')).programs;
  }

  start(name: string, opts: { wait?: boolean } = {}): Promise<Results> {
    return this.verb('start', { names: [name], wait: opts.wait });
  }

  stop(name: string, opts: { wait?: boolean } = {}): Promise<Results> {
    return this.verb('stop', { names: [name], wait: opts.wait });
  }

  restart(name: string): Promise<Results> {
    return this.verb('restart', { names: [name] });
  }

  signal(name: string, signal: string | number): Promise<Results> {
    return this.verb('signal', { names: [name], signal });
  }

  async sendStdin(name: string, data: Buffer): Promise<void> {
    await this.json('POST', '/v1/stdin', { name, data: data.toString('base64') });
  }

  async readLog(name: string | null, stream: StreamName, range: LogRange): Promise<LogSlice> {
    const r = await call(this.socketPath, 'GET', `/v1/tail?${tailQuery(name, stream, range)}`);
    if (r.status !== 200) throw errorOf(r);
    return { data: Buffer.from(r.body, 'utf8'), total: Number(r.headers['x-log-total'] ?? 0) };
  }

  async followLog(name: string | null, stream: StreamName, back: number, onChunk: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    const q = tailQuery(name, stream, { last: back });
    const r = await call(this.socketPath, 'GET', `/v1/tail?${q}&follow=1`, undefined, onChunk, signal);
    if (r.status !== 200 && !signal.aborted) throw errorOf(r);
  }

  async clearLog(name: string | null): Promise<void> {
    await this.json('POST', '/v1/clearlog', { name });
  }

  reload(opts: { wait?: boolean } = {}): Promise<ReloadResult> {
    return this.json('POST', '/v1/reload', opts.wait === false ? { wait: false } : undefined);
  }

  reread(): Promise<ReloadResult> {
    return this.json('POST', '/v1/reread');
  }

  async addGroup(name: string): Promise<void> {
    await this.json('POST', '/v1/groups/add', { name });
  }

  async removeGroup(name: string): Promise<void> {
    await this.json('POST', '/v1/groups/remove', { name });
  }

  async sendRemoteEvent(type: string, data: string): Promise<void> {
    await this.json('POST', '/v1/remote', { type, data });
  }

  async shutdown(): Promise<void> {
    await this.json('POST', '/v1/shutdown');
  }

  /** The JSON event stream: snapshots, Supervisor's events and health changes (no separate 'state'). */
  subscribe(listener: (event: ApiEvent) => void): () => void {
    const gone = new AbortController();
    let rest = '';
    void call(this.socketPath, 'GET', '/v1/events', undefined, (chunk) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) listener(eventOf(JSON.parse(line)));
    }, gone.signal).catch(() => {});
    return () => gone.abort();
  }

  private async verb(verb: string, body: Record<string, unknown>): Promise<Results> {
    const r = await this.json('POST', `/v1/${verb}`, body);
    const target = (r.targets as Array<{ name: string; single: boolean; error?: ErrorCode; detail?: string }>)[0];
    if (target.error) throw new SupervisorError(target.error, { target: target.name, detail: target.detail });
    return {
      single: target.single,
      outcomes: (r.results as JsonResult[]).map((o) => {
        const colon = o.name.indexOf(':');
        const ids = { namespec: o.name, name: colon < 0 ? o.name : o.name.slice(colon + 1), group: colon < 0 ? o.name : o.name.slice(0, colon) };
        if (o.ok) return { ...ids, ok: true, action: o.action };
        return { ...ids, ok: false, error: { code: o.fault!, message: o.message ?? o.fault!, detail: o.detail } };
      }),
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async json(method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
    const r = await call(this.socketPath, method, path, body);
    if (r.status !== 200) throw errorOf(r);
    return JSON.parse(r.body);
  }
}

function tailQuery(name: string | null, stream: StreamName, range: LogRange): URLSearchParams {
  const q = new URLSearchParams({ stream });
  if (name === null) q.set('main', '1');
  else q.set('name', name);
  if ('last' in range) q.set('bytes', String(range.last));
  else {
    q.set('from', String(range.from));
    if (range.to !== undefined) q.set('to', String(range.to));
  }
  return q;
}

/** An error answer of the JSON API as the SupervisorError it was (FAILED when it was no API error). */
function errorOf(r: Reply): SupervisorError {
  let body: { error?: string; code?: ErrorCode } = {};
  try {
    body = JSON.parse(r.body);
  } catch {
    // not JSON
  }
  if (body.code === 'CANT_REREAD') return new SupervisorError('CANT_REREAD', { detail: body.error?.replace(/^[^\n]*\n/, '') });
  return new SupervisorError(body.code ?? 'FAILED', { detail: body.error ?? `HTTP ${r.status}` });
}

function eventOf(line: Record<string, unknown>): ApiEvent {
  if (line.snapshot) {
    const { time: _t, snapshot: _s, ...process } = line;
    return { type: 'snapshot', process: process as unknown as ProcessSnapshot };
  }
  if (line.health) {
    const { name, group, namespec, health, previous, output } = line as Record<string, string>;
    return { type: 'health', spec: { name, group, namespec }, from: previous as never, to: health as never, state: { status: health as never, output, since: Date.parse(String(line.time)), failures: 0, passedOnce: false, checks: 0 } };
  }
  const { time, serial, eventname, fields, data, ...change } = line as Record<string, never>;
  const event: SupervisorEvent = { name: eventname, fields: Object.entries(fields ?? {}), data, time: Date.parse(time), serial };
  if (Object.keys(change).length > 0) event.change = change as unknown as SupervisorEvent['change'];
  return { type: 'supervisor', event };
}
