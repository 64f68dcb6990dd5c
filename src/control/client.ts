import { request } from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

/** One HTTP request to ringmaster's control socket. `onData` streams the body instead. */
export function call(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  onData?: (chunk: Buffer) => void,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => (onData ? onData(c) : parts.push(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
