import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Settings } from '../config/types';
import { serve, type ApiDeps } from './json-api';
import type { Socket } from 'node:net';
import { answerClientError, closeServer, limitConnections, listen, sendJson } from './http-util';

/** Open to anyone who can reach the port: what a kubelet or a Prometheus scraper asks. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

// Loaded on the first authenticated request: crypto costs start-up time and most runs never need it.
const crypto = () => require('node:crypto') as typeof import('node:crypto');

function digest(text: string): Buffer {
  return crypto().createHash('sha256').update(text).digest();
}

/** Compare in constant time (hashes first, so lengths never leak). */
function same(a: string, b: string): boolean {
  return crypto().timingSafeEqual(digest(a), digest(b));
}

/** Does `Authorization: Basic …` carry the configured user and password (plain or `{SHA}hex`)? */
export function authorized(header: string | undefined, username: string, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const given = decoded.slice(colon + 1);
  const expected = password.startsWith('{SHA}') ? password.slice(5).toLowerCase() : password;
  const offered = password.startsWith('{SHA}') ? crypto().createHash('sha1').update(given).digest('hex') : given;
  return same(user, username) && same(offered, expected);
}

/** Connections at once on settings.http (fewer under a low fd limit, see connectionCap). */
export const MAX_TCP_CONNECTIONS = 64;

/**
 * Anyone who can reach the port can open a connection: it must send its headers within 10 s
 * and its whole request within 30 s (Node's defaults are 60 s and 5 min), checked every second.
 */
const TCP_TIMEOUTS = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 };

export interface HttpListener {
  address: string | null;
  close(): Promise<void>;
}

/**
 * `settings.http` (SPEC §6): the probes and /metrics for anyone; everything else only with HTTP
 * Basic credentials, and not at all when none are configured. Failing to listen is a warning,
 * never a failed start.
 */
export async function startHttpListener(settings: Settings, deps: ApiDeps, warn: (text: string) => void): Promise<HttpListener> {
  const addr = settings.http;
  if (!addr) return { address: null, close: async () => {} };
  const { httpUsername: username, httpPassword: password } = settings;
  const untilRequest = new WeakMap<Socket, NodeJS.Timeout>();
  const trustedDeps = { ...deps, trusted: true };
  deps = { ...deps, trusted: false };
  const server = createServer(TCP_TIMEOUTS, (req: IncomingMessage, res: ServerResponse) => {
    // The request is here: a follower (/logtail, /v1/events) may then stay quiet for long.
    clearTimeout(untilRequest.get(req.socket));
    const path = (req.url ?? '/').split('?')[0];
    // Empty credentials are refused by the config; should one arrive anyway, it grants nothing.
    const trusted = !!username && !!password && authorized(req.headers.authorization, username, password);
    if (!OPEN_PATHS.has(path) && !trusted) {
      if (!username || !password) {
        return sendJson(res, 403, { error: 'the API on settings.http needs settings.http_username and http_password' });
      }
      res.writeHead(401, { 'www-authenticate': 'Basic realm="default"', connection: 'close', 'content-type': 'text/plain' });
      return void res.end('Unauthorized\n');
    }
    serve(req, res, trusted ? trustedDeps : deps);
  });
  server.on('clientError', answerClientError);
  limitConnections(server, MAX_TCP_CONNECTIONS, warn);
  // A connection whose first request is not whole within headersTimeout is closed: silent, or
  // stopped half-way through its headers. Our own timer: node's idle timeout on the socket did not
  // always fire for a half-sent request (seen once in 45 s on a loaded machine).
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), TCP_TIMEOUTS.headersTimeout);
    untilRequest.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  const shown = `${addr.host.includes(':') ? `[${addr.host}]` : addr.host || '*'}:${addr.port}`;
  try {
    await listen(server, addr.port, addr.host || undefined);
  } catch (err) {
    warn(`cannot listen on settings.http ${shown}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return { address: null, close: async () => {} };
  }
  return {
    address: shown,
    close: () => closeServer(server),
  };
}
