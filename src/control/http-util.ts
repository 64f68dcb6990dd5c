import type { IncomingMessage, ServerResponse } from 'node:http';

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

/** After an error answer, a request body that was not read must not be parsed as the next request. */
export function closeAfter(res: ServerResponse): void {
  res.shouldKeepAlive = false;
}
