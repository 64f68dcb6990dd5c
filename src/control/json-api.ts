import type { IncomingMessage, ServerResponse } from 'node:http';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../health/metrics';
import { readiness } from '../health/readiness';
import { SupervisorError, type ErrorCode } from '../errors';
import type { ApiEvent, Outcome, Results } from '../supervisor/api';
import type { StreamName } from '../types';
import { closeAfter, discardBody, HttpError, readBody, sendJson as send } from './http-util';
import { followInto, handleLogtail } from './logtail';
import { handleRpc } from './xmlrpc/handler';
import type { RpcDeps } from './xmlrpc/methods';
import { foreignOrigin } from './same-origin';
import { handleWeb, isWebPath } from './web/routes';

/** What the control server's handlers need: the supervisor API and a way to log. */
export type ApiDeps = RpcDeps & {
  /** The control socket (mode 0700) is trusted; the TCP listener's open paths are not. */
  trusted?: boolean;
  /** Told of every request (the memory trimmer waits for quiet). */
  onRequest?: () => void;
};

const MAX_BODY = 64 * 1024;
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** The API's errors as HTTP statuses, one row each (the body names the code). */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_NAME: 404,
  BAD_SIGNAL: 400,
  BAD_ARGUMENTS: 400,
  CANT_REREAD: 400,
  SHUTDOWN_STATE: 409,
  ALREADY_ADDED: 409,
  STILL_RUNNING: 409,
};

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, MAX_BODY);
  if (raw.length === 0) return {};
  try {
    const body = JSON.parse(raw.toString('utf8'));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return body;
  } catch (err) {
    throw new HttpError(400, `bad JSON: ${(err as Error).message}`);
  }
}

function names(body: Record<string, unknown>): string[] {
  const n = body.names;
  if (!Array.isArray(n) || n.length === 0 || !n.every((x) => typeof x === 'string')) {
    throw new HttpError(400, 'expected {"names": ["web", "group:*", "all", ...]}');
  }
  return n as string[];
}

/** A signal is a name (`HUP`, `SIGHUP`) or a number; anything else is refused before anything is sent. */
function signalOf(body: Record<string, unknown>): string | number {
  const s = body.signal;
  if ((typeof s === 'string' && s.length > 0) || (typeof s === 'number' && Number.isInteger(s))) return s;
  throw new HttpError(400, `expected "signal": a name like "HUP" or a number, got ${JSON.stringify(s) ?? 'nothing'}`);
}

/** One result line as the JSON API and `ctl` have it: the namespec, and the error's code and words. */
function resultJson(o: Outcome) {
  if (o.ok) return { name: o.namespec, ok: true, action: o.action };
  return { name: o.namespec, ok: false, fault: o.error!.code, message: o.error!.message, detail: o.error!.detail };
}

/** Serve one request; whatever goes wrong inside is this request's 500, never ringmaster's crash. */
export function serve(req: IncomingMessage, res: ServerResponse, deps: ApiDeps): void {
  deps.onRequest?.();
  handle(req, res, deps).catch((err: unknown) => {
    deps.log(`control request ${req.method} ${JSON.stringify(req.url)} failed: ${(err as Error)?.stack ?? err}`, 'error');
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
    else res.destroy();
  });
}

/**
 * The JSON API under /v1/ (SPEC §6) and the probes. Every request is validated before anything
 * changes: a bad name or body answers 4xx and touches nothing.
 */
export async function handle(req: IncomingMessage, res: ServerResponse, deps: ApiDeps): Promise<void> {
  const { api } = deps;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    closeAfter(res);
    return send(res, 400, { error: `not a request target: ${JSON.stringify(req.url)}` });
  }
  // HEAD on a probe answers as GET does, without the body (node:http drops it for HEAD).
  const method = req.method === 'HEAD' && PROBES.has(url.pathname) ? 'GET' : req.method;
  const route = `${method} ${url.pathname}`;
  try {
    // SPEC §8: what a page of another site makes a browser send is refused before anything is done.
    if (method !== 'GET' && method !== 'HEAD' && foreignOrigin(req)) throw new HttpError(403, 'refused: the request comes from another origin');
    if (isWebPath(url.pathname)) return await handleWeb(req, url, res, api);
    if (url.pathname.startsWith('/RPC2')) return await handleRpc(req, res, deps);
    if (url.pathname.startsWith('/logtail/') || url.pathname === '/mainlogtail') return await handleLogtail(req, url, res, deps);
    switch (route) {
      case 'GET /healthz':
        return send(res, 200, { alive: true });
      case 'GET /readyz': {
        const r = await ready(deps);
        return send(res, r.ready ? 200 : 503, r);
      }
      case 'GET /metrics': {
        const text = renderMetrics(await api.list({ usage: true }), (await ready(deps)).ready);
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        return void res.end(text);
      }
      case 'GET /v1/status': {
        const [status, processes] = [await api.status(), await api.list({ usage: true })];
        const now = Math.floor(Date.now() / 1000);
        return send(res, 200, {
          state: status.state,
          pid: status.pid,
          version: status.version,
          processes: processes.map(({ usage, ...p }) => ({ ...p, now, cpu: usage?.cpuPercent ?? null, memory: usage?.memoryBytes ?? null })),
        });
      }
      case 'POST /v1/start':
      case 'POST /v1/stop':
      case 'POST /v1/restart':
      case 'POST /v1/signal': {
        const body = await readJson(req);
        const wanted = names(body);
        const verb = route.slice('POST /v1/'.length);
        const signal = verb === 'signal' ? signalOf(body) : undefined;
        if (body.wait !== undefined && typeof body.wait !== 'boolean') throw new HttpError(400, '"wait" is true or false');
        const wait = body.wait as boolean | undefined;
        const act = (name: string): Promise<Results> => {
          if (verb === 'start') return api.start(name, { wait });
          if (verb === 'stop') return api.stop(name, { wait });
          if (verb === 'restart') return api.restart(name);
          return api.signal(name, signal!);
        };
        // Per name: whether it named one process, or why the verb could not begin (BAD_NAME, …).
        const targets = [];
        const results = [];
        for (const [i, r] of (await Promise.all(wanted.map((name) => act(name).catch((err: unknown) => errorResult(name, err))))).entries()) {
          if ('outcomes' in r) {
            targets.push({ name: wanted[i], single: r.single });
            results.push(...r.outcomes.map(resultJson));
          } else {
            targets.push({ name: wanted[i], single: false, error: r.fault, detail: r.detail });
            results.push(r);
          }
        }
        // A bad signal is a bad request, as a bad body is: nothing was sent to anyone.
        const badSignal = targets.find((t) => t.error === 'BAD_SIGNAL');
        if (badSignal) return send(res, 400, { error: `unknown signal ${JSON.stringify(signal)}`, code: 'BAD_SIGNAL' });
        return send(res, 200, { results, targets });
      }
      case 'POST /v1/stdin': {
        const body = await readJson(req);
        if (typeof body.name !== 'string' || typeof body.data !== 'string') throw new HttpError(400, 'expected {"name": "web", "data": "<base64>"}');
        await api.sendStdin(body.name, Buffer.from(body.data, 'base64'));
        return send(res, 200, { ok: true });
      }
      case 'POST /v1/clearlog': {
        const body = await readJson(req);
        if (body.name !== null && typeof body.name !== 'string') throw new HttpError(400, 'expected {"name": "web"} (null: ringmaster\'s own log)');
        await api.clearLog(body.name);
        return send(res, 200, { ok: true });
      }
      case 'POST /v1/reload': {
        const body = await readJson(req);
        return send(res, 200, await api.reload({ wait: body.wait !== false }));
      }
      case 'POST /v1/reread':
        return send(res, 200, await api.reread());
      case 'POST /v1/groups/add':
      case 'POST /v1/groups/remove': {
        const body = await readJson(req);
        if (typeof body.name !== 'string') throw new HttpError(400, 'expected {"name": "group"}');
        await (route.endsWith('add') ? api.addGroup(body.name) : api.removeGroup(body.name));
        return send(res, 200, { ok: true });
      }
      case 'POST /v1/remote': {
        const body = await readJson(req);
        if (typeof body.type !== 'string' || typeof body.data !== 'string') throw new HttpError(400, 'expected {"type": "…", "data": "…"}');
        await api.sendRemoteEvent(body.type, body.data);
        return send(res, 200, { ok: true });
      }
      case 'GET /v1/avail':
        return send(res, 200, { programs: await api.programs() });
      case 'POST /v1/shutdown':
        send(res, 200, { shuttingDown: true });
        await api.shutdown();
        return;
      case 'GET /v1/tail':
        return await tail(url, res, deps);
      case 'GET /v1/events':
        return streamEvents(res, deps);
      default:
        throw new HttpError(404, `no such endpoint: ${route}`);
    }
  } catch (err) {
    closeAfter(res);
    if (res.headersSent) return void res.destroy();
    // A body we did not read is read and dropped first, so the client sees our answer, not a reset.
    if (!req.complete) await discardBody(req);
    if (err instanceof HttpError) return send(res, err.status, { error: err.message });
    if (err instanceof SupervisorError) return send(res, HTTP_STATUS[err.code] ?? 500, { error: err.message, code: err.code });
    throw err;
  }
}

/** A name the verb could not even begin with (BAD_NAME, BAD_SIGNAL, SHUTDOWN_STATE): one failed result. */
function errorResult(name: string, err: unknown) {
  if (!(err instanceof SupervisorError)) throw err;
  return { name, ok: false, fault: err.code, message: err.message, detail: err.detail };
}

async function ready(deps: ApiDeps) {
  const [status, processes] = [await deps.api.status(), await deps.api.list()];
  return readiness(processes, status.state === 'SHUTDOWN', deps.trusted ?? false);
}

/** The recent output of one process; with follow=1, a stream of what it prints next. */
async function tail(url: URL, res: ServerResponse, deps: ApiDeps): Promise<void> {
  const q = url.searchParams;
  const name = q.get('main') === '1' ? null : (q.get('name') ?? '');
  const stream = (q.get('stream') ?? 'stdout') as StreamName;
  if (stream !== 'stdout' && stream !== 'stderr') throw new HttpError(400, 'stream must be stdout or stderr');
  const whole = (key: string, dflt?: number) => {
    const v = q.has(key) ? Number(q.get(key)) : dflt;
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new HttpError(400, `${key} must be a whole number`);
    return v;
  };
  const bytes = whole('bytes', 1600)!;
  const from = whole('from');
  const to = whole('to');
  const follow = q.get('follow') === '1';
  let first;
  try {
    first = await deps.api.readLog(name, stream, from === undefined ? { last: bytes } : { from, to });
  } catch (err) {
    if (err instanceof SupervisorError && err.code === 'BAD_NAME') throw new HttpError(404, `no such process: ${name}`);
    throw err;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-log-total': String(first.total) });
  if (!follow) return void res.end(first.data);
  followInto(deps.api, name, stream, res, bytes);
}

/** A client this far behind is cut off rather than buffered for without bound. */
const MAX_EVENT_BACKLOG = 1024 * 1024;

/**
 * One line per process with its current state (`"snapshot": true`), then every event and health
 * change from now on, one JSON object per line, until the client goes away. Events are
 * Supervisor's: {"time", "serial", "eventname", "fields": {…}, "data"?}; `serial` is Supervisor's
 * global serial, null when no listener pool took the event. PROCESS_STATE_* lines also carry the
 * change itself: name, group, namespec, from, to, pid, exitstatus, and `reason` after a stop.
 * Health changes are lines of their own: {name, group, namespec, health, previous, output}.
 */
function streamEvents(res: ServerResponse, deps: ApiDeps): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const line = (value: unknown) => {
    if (res.writableLength > MAX_EVENT_BACKLOG) return void res.destroy();
    res.write(`${JSON.stringify(value)}\n`);
  };
  const unsubscribe = deps.api.subscribe((e: ApiEvent) => {
    const time = new Date().toISOString();
    if (e.type === 'snapshot') line({ time, snapshot: true, ...e.process });
    else if (e.type === 'health') {
      const { name, group, namespec } = e.spec;
      line({ time, name, group, namespec, health: e.to, previous: e.from, output: deps.trusted === false ? undefined : e.state.output });
    } else if (e.type === 'supervisor') {
      const ev = e.event;
      const out: Record<string, unknown> = { time: new Date(ev.time).toISOString(), serial: ev.serial, eventname: ev.name, fields: Object.fromEntries(ev.fields) };
      if (ev.data !== undefined) out.data = ev.data;
      if (ev.change) Object.assign(out, ev.change);
      line(out);
    }
    // 'state': its PROCESS_STATE_* event (above) says it, with Supervisor's serial.
  });
  res.on('close', unsubscribe);
  // Headers now, so a client knows it is subscribed before the first event.
  res.flushHeaders();
}
