import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSignal } from '../signal-util';
import type { EventBus } from '../events/bus';
import { METRICS_CONTENT_TYPE, renderMetrics } from '../health/metrics';
import type { HealthChange } from '../health/monitor';
import { sampleUsage } from '../health/usage';
import type { StreamName } from '../output/types';
import { processInfo, resolveNames, signalProcess, startProcess, stopProcess, type Outcome } from '../supervisor/commands';
import { ConfigError } from '../config/types';
import { closeAfter, discardBody, HttpError, readBody, sendJson as send } from './http-util';
import { followInto, handleLogtail } from './logtail';
import { readiness } from './readiness';
import { handleRpc } from './xmlrpc/handler';
import type { RpcDeps } from './xmlrpc/methods';

/** What the control server's handlers need: the XML-RPC methods' deps, and the event bus. */
export type ApiDeps = RpcDeps & {
  /** Supervisor's events, streamed as JSON lines by GET /v1/events. */
  events?: EventBus;
};

const MAX_BODY = 64 * 1024;

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

/** Serve one request; whatever goes wrong inside is this request's 500, never ringmaster's crash. */
export function serve(req: IncomingMessage, res: ServerResponse, deps: ApiDeps): void {
  handle(req, res, deps).catch((err: unknown) => {
    deps.output.system(`control request ${req.method} ${JSON.stringify(req.url)} failed: ${(err as Error)?.stack ?? err}`, 'stderr');
    if (!res.headersSent) send(res, 500, { error: 'internal error' });
    else res.destroy();
  });
}

/**
 * The JSON API under /v1/ (SPEC §6) and the probes. Every request is validated before anything
 * changes: a bad name or body answers 4xx and touches nothing.
 */
export async function handle(req: IncomingMessage, res: ServerResponse, deps: ApiDeps): Promise<void> {
  const { supervisor } = deps;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    closeAfter(res);
    return send(res, 400, { error: `not a request target: ${JSON.stringify(req.url)}` });
  }
  const route = `${req.method} ${url.pathname}`;
  try {
    if (url.pathname.startsWith('/RPC2')) return await handleRpc(req, res, deps);
    if (url.pathname.startsWith('/logtail/') || url.pathname === '/mainlogtail') return handleLogtail(req, url, res, deps);
    switch (route) {
      case 'GET /healthz':
        return send(res, 200, { alive: true });
      case 'GET /readyz': {
        const r = readiness(supervisor);
        return send(res, r.ready ? 200 : 503, r);
      }
      case 'GET /metrics': {
        const text = await renderMetrics(supervisor, readiness(supervisor).ready);
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        return void res.end(text);
      }
      case 'GET /v1/status': {
        const processes = [...supervisor.processes];
        const use = await sampleUsage(processes.map((p) => p.pid));
        return send(res, 200, {
          state: supervisor.isShuttingDown ? 'SHUTDOWN' : 'RUNNING',
          pid: process.pid,
          processes: processes.map((p) => {
            const info = processInfo(p);
            const u = use.get(p.pid);
            const h = supervisor.healthOf(p);
            return {
              ...info,
              cpu: u?.cpuPercent ?? null,
              memory: u?.memoryBytes ?? null,
              health: h ? { status: h.status, failures: h.failures, output: h.output, since: Math.floor(h.since / 1000) } : null,
              waiting: supervisor.waitingReason(p),
            };
          }),
        });
      }
      case 'POST /v1/start':
      case 'POST /v1/stop':
      case 'POST /v1/restart':
      case 'POST /v1/signal': {
        const body = await readJson(req);
        const wanted = names(body);
        const { processes, unknown } = resolveNames(supervisor, wanted);
        let sig: NodeJS.Signals | undefined;
        if (route === 'POST /v1/signal') {
          sig = parseSignal(String(body.signal ?? ''));
          if (!sig) throw new HttpError(400, `unknown signal "${body.signal}"`);
        }
        const results: Outcome[] = unknown.map((name) => ({ name, ok: false, fault: 'BAD_NAME' }));
        const verb = route.slice('POST /v1/'.length);
        const outcomes = await Promise.all(
          processes.map(async (p) => {
            if (verb === 'start') return [await startProcess(supervisor, p)];
            if (verb === 'stop') return [await stopProcess(supervisor, p)];
            if (verb === 'signal') return [signalProcess(p, sig!)];
            const stopped = await stopProcess(supervisor, p);
            return [stopped, await startProcess(supervisor, p)];
          }),
        );
        results.push(...outcomes.flat());
        return send(res, 200, { results });
      }
      case 'POST /v1/reload':
        return send(res, 200, await reload(deps));
      case 'GET /v1/avail':
        return send(res, 200, { programs: avail(deps) });
      case 'POST /v1/shutdown':
        send(res, 200, { shuttingDown: true });
        deps.shutdown();
        return;
      case 'GET /v1/tail':
        return tail(url, res, deps);
      case 'GET /v1/events':
        return streamEvents(res, deps);
      default:
        throw new HttpError(404, `no such endpoint: ${route}`);
    }
  } catch (err) {
    closeAfter(res);
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError && err.status === 413) await discardBody(req);
    if (err instanceof HttpError) return send(res, err.status, { error: err.message });
    return send(res, 500, { error: (err as Error).message });
  }
}

/** `ctl reload`: a config with problems is reported and changes nothing. */
async function reload(deps: ApiDeps): Promise<Record<string, unknown>> {
  let config;
  try {
    config = deps.readConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new HttpError(400, err.message);
    throw err;
  }
  const diff = await deps.reload(config);
  if (!diff) throw new HttpError(409, 'ringmaster is shutting down');
  return { ...diff };
}

/** `ctl avail`: every program of the config last read, whether it is in use. */
function avail(deps: ApiDeps) {
  const active = new Set(deps.supervisor.programs.map((p) => p.name));
  return deps.supervisor.latestPrograms.map((p) => ({
    name: p.name,
    group: p.group,
    inUse: active.has(p.name),
    autostart: p.autostart && !p.disabled,
    priority: p.priority,
    numprocs: p.numprocs,
  }));
}

/** The recent output of one process; with follow=1, a stream of what it prints next. */
function tail(url: URL, res: ServerResponse, deps: ApiDeps): void {
  const name = url.searchParams.get('name') ?? '';
  const stream = (url.searchParams.get('stream') ?? 'stdout') as StreamName;
  if (stream !== 'stdout' && stream !== 'stderr') throw new HttpError(400, 'stream must be stdout or stderr');
  const bytes = Number(url.searchParams.get('bytes') ?? 1600);
  if (!Number.isInteger(bytes) || bytes < 0) throw new HttpError(400, 'bytes must be a whole number');
  const { processes } = resolveNames(deps.supervisor, [name]);
  if (processes.length !== 1) throw new HttpError(404, `no such process: ${name}`);
  const follow = url.searchParams.get('follow') === '1';
  const buffer = deps.output.tail(processes[0].name, stream, follow);
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  if (!follow || !buffer) return void res.end(buffer?.last(bytes));
  followInto(buffer, res, bytes);
}

/** A client this far behind is cut off rather than buffered for without bound. */
const MAX_EVENT_BACKLOG = 1024 * 1024;

/**
 * Every event (and health change) from now on, one JSON object per line, until the client goes away; for consumers
 * that don't speak Supervisor's listener protocol: {"time", "serial", "eventname", "fields": {…},
 * "data"?}. `serial` is Supervisor's global serial, null when no listener pool took the event.
 * PROCESS_STATE_* lines also carry the change itself: name, group, namespec, from, to, pid,
 * exitstatus.
 */
function streamEvents(res: ServerResponse, deps: ApiDeps): void {
  if (!deps.events) throw new HttpError(404, 'no event stream');
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const stop = deps.events.subscribe((e) => {
    if (res.writableLength > MAX_EVENT_BACKLOG) return void res.destroy();
    const line: Record<string, unknown> = { time: new Date(e.time).toISOString(), serial: e.serial, eventname: e.name, fields: Object.fromEntries(e.fields) };
    if (e.data !== undefined) line.data = e.data;
    if (e.change) Object.assign(line, e.change);
    res.write(`${JSON.stringify(line)}\n`);
  });
  // Health changes (no Supervisor event type) as lines of their own: `health` and `previous`.
  const onHealth = ({ process: p, from, to, state }: HealthChange) => {
    if (res.writableLength > MAX_EVENT_BACKLOG) return void res.destroy();
    res.write(`${JSON.stringify({ time: new Date().toISOString(), name: p.name, group: p.spec.group, namespec: p.spec.namespec, health: to, previous: from, output: state.output })}\n`);
  };
  deps.supervisor.on('health', onHealth);
  res.on('close', () => {
    stop();
    deps.supervisor.off('health', onHealth);
  });
  // Headers now, so a client knows it is subscribed before the first event.
  res.flushHeaders();
}
