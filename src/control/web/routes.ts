// SPEC §8, Supervisor's web interface: the page at `/`, its assets, its live stream, the tail
// page and the one POST route every button uses. All through SupervisorApi; actions only by POST.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SupervisorError } from '../../errors';
import type { Results, SupervisorApi } from '../../supervisor/api';
import { HttpError, readBody } from '../http-util';
import { webAssets } from './assets';
import { renderPage, renderTail } from './page';
import { streamPage } from './stream';
import { filtersOf, rowView } from './view';

/**
 * On every page answer: scripts and styles only from our own files (no inline script or style),
 * no frames, forms only to us, and the Referer kept for our own origin (the 403 check reads it).
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

const TAIL_PAGE_BYTES = 8192;
const MAX_FORM = 4096;

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
}

/** The page of 100 programs is ~80 KB of repetitive HTML, ~8 KB gzipped: a phone on a slow link feels it. */
function sendHtml(req: IncomingMessage, res: ServerResponse, html: string): void {
  const gzip = acceptsGzip(req);
  const body = gzip ? (require('node:zlib') as typeof import('node:zlib')).gzipSync(html, { level: 6 }) : Buffer.from(html);
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    'content-length': body.length,
  });
  res.end(body);
}

/** Whether `path` is one of the web interface's. */
export function isWebPath(path: string): boolean {
  return path === '/' || path === '/favicon.ico' || path.startsWith('/web/');
}

/** Serve a web interface request (isWebPath); throws HttpError or SupervisorError for the caller's error answer. */
export async function handleWeb(req: IncomingMessage, url: URL, res: ServerResponse, api: SupervisorApi): Promise<void> {
  const path = url.pathname;
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (path === '/web/action') {
    if (method !== 'POST') throw new HttpError(405, 'actions are taken by POST only');
    return act(req, res, api);
  }
  if (method !== 'GET') throw new HttpError(405, `${req.method} ${path}: only GET here`);
  if (path === '/') {
    const now = Math.floor(Date.now() / 1000);
    const views = (await api.list({ usage: true })).map((p) => rowView(p, now));
    const msg = url.searchParams.get('msg') ?? '';
    return sendHtml(req, res, renderPage(views, filtersOf(url), msg.slice(0, 500), url.searchParams.get('error') === '1'));
  }
  if (path === '/web/events') {
    if (req.method !== 'GET') throw new HttpError(405, 'the event stream is GET only'); // a HEAD would hold a stream open with no body
    return streamPage(res, api, url.searchParams.get('tail'), SECURITY_HEADERS);
  }
  if (path === '/web/tail') {
    const name = url.searchParams.get('name') ?? '';
    const [out, err] = await Promise.all([api.readLog(name, 'stdout', { last: TAIL_PAGE_BYTES }), api.readLog(name, 'stderr', { last: TAIL_PAGE_BYTES })]);
    return sendHtml(req, res, renderTail(name, out.data.toString('utf8'), err.data.toString('utf8')));
  }
  if (path === '/favicon.ico') return void res.writeHead(204).end();
  const asset = webAssets().byPath.get(path);
  if (!asset) throw new HttpError(404, `no such page: ${path}`);
  const gzip = acceptsGzip(req);
  const body = gzip ? asset.gzipped : asset.body;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': asset.type,
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    'content-length': body.length,
  });
  res.end(body);
}

type Action = 'start' | 'stop' | 'restart' | 'clear' | 'restartall' | 'stopall';
const ACTIONS = new Set<string>(['start', 'stop', 'restart', 'clear', 'restartall', 'stopall']);

/** Supervisor's web interface words for what was done. */
const DONE: Record<Action, string> = { start: 'started', stop: 'stopped', restart: 'restarted', clear: 'log cleared', restartall: 'restarted', stopall: 'stopped' };

/** Start and stop answer at once (the page shows STARTING and STOPPING live); restart waits for the stop. */
function perform(api: SupervisorApi, action: Action, name: string): Promise<Results | void> {
  switch (action) {
    case 'start':
      return api.start(name, { wait: false });
    case 'stop':
      return api.stop(name, { wait: false });
    case 'restart':
      return api.restart(name);
    case 'clear':
      return api.clearLog(name);
    case 'restartall':
      return api.restart('all');
    case 'stopall':
      return api.stop('all', { wait: false });
  }
}

/**
 * POST /web/action, a form (`name`, `action`). The page's script asks for JSON; a plain form gets
 * a 303 back to the page it came from, with the outcome in `msg`. Everything is checked before
 * anything is done: a bad action or name changes nothing.
 */
async function act(req: IncomingMessage, res: ServerResponse, api: SupervisorApi): Promise<void> {
  const form = new URLSearchParams((await readBody(req, MAX_FORM)).toString('utf8'));
  const action = form.get('action') ?? '';
  if (!ACTIONS.has(action)) throw new HttpError(400, `unknown action ${JSON.stringify(action)}`);
  const all = action === 'restartall' || action === 'stopall';
  const name = all ? 'all' : (form.get('name') ?? '');
  if (!name) throw new HttpError(400, 'no process named');
  let ok = true;
  // A request that could not begin (BAD_NAME, shutting down) is a 409; one that ran, failures and all, a 200.
  let began = true;
  let message: string;
  try {
    const results = await perform(api, action as Action, name);
    const failed = results ? results.outcomes.filter((o) => !o.ok) : [];
    ok = failed.length === 0;
    message = ok ? `${all ? 'All' : name}: ${DONE[action as Action]}` : failed.map((o) => `${o.namespec}: ERROR (${o.error!.message})`).join('; ');
  } catch (err) {
    if (!(err instanceof SupervisorError)) throw err;
    ok = began = false;
    message = `${name}: ERROR (${err.message})`;
  }
  if ((req.headers.accept ?? '').includes('application/json')) {
    const body = JSON.stringify({ ok, message });
    res.writeHead(began ? 200 : 409, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  res.writeHead(303, { location: backTo(req, message, ok), 'content-length': 0 });
  res.end();
}

/** The page the form was on (its filters kept), with the outcome; `/` when that is not known. */
function backTo(req: IncomingMessage, message: string, ok: boolean): string {
  let query = new URLSearchParams();
  try {
    const from = new URL(req.headers.referer ?? '');
    if (from.pathname === '/') query = from.searchParams;
  } catch {
    // no Referer (or not a URL): the page unfiltered
  }
  query.set('msg', message);
  if (ok) query.delete('error');
  else query.set('error', '1');
  return `/?${query}`;
}
