import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** An answer with an HTTP status and a message, thrown from a handler. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The whole request body, refused with 413 (and not read further) past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    parts.push(chunk as Buffer);
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * What the HTTP parser rejects (an unknown method, a broken request line, huge headers) still
 * gets an HTTP answer, as Node's default would give, before the connection closes.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Read and drop the rest of a refused body (bounded in time), so a client that sends the whole
 * body before reading, as Python's xmlrpc.client does, gets the 413 and not a broken pipe.
 */
export function discardBody(req: IncomingMessage, maxMs = 5000): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    req.on('end', done).on('close', done).on('error', done);
    req.resume();
  });
}

/** `server.listen(...)` as a promise that rejects with the listen error (EADDRINUSE, EACCES…). */
export function listen(server: Server, ...where: [path: string] | [port: number, host?: string]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...(where as [number, string]), () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stop listening and drop every connection, followers of tail and events included. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** After an error answer, a request body that was not read must not be parsed as the next request. */
export function closeAfter(res: ServerResponse): void {
  res.shouldKeepAlive = false;
}

/** The soft RLIMIT_NOFILE, from /proc (Node raises it to the hard limit at start); 1024 if unknown. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // no /proc
  }
  return 1024;
}

/**
 * How many connections one server may hold: `wanted`, but never more than an eighth of the fd
 * limit, so idle clients cannot take the fds that programs' pipes need. 300 idle connections
 * under a 256-fd limit used to make a restarting program fail with EMFILE (issue #12, 5).
 */
export function connectionCap(wanted: number, fdLimit = openFileLimit()): number {
  return Math.max(4, Math.min(wanted, Math.floor(fdLimit / 8)));
}

/**
 * Cap `server`'s connections (Node closes the ones beyond at once) and say so, at most once a
 * minute: a client over the cap sees its connection closed; ringmaster's fds stay for programs.
 */
export function limitConnections(server: Server, wanted: number, warn: (text: string) => void): number {
  const cap = connectionCap(wanted);
  server.maxConnections = cap;
  let lastWarned = 0;
  let dropped = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastWarned < 60_000) return;
    lastWarned = now;
    warn(`too many connections (limit ${cap}): closed ${dropped} new one(s)`);
    dropped = 0;
  });
  return cap;
}
