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
