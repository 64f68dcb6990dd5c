import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

/**
 * One HTTP request over a unix socket (ringmaster's control socket), bounded. A connection of its
 * own (agent: false): node 20's global agent keeps sockets alive, and one reused just as the
 * server closed it for idling gave a test EPIPE.
 */
export function httpUnix(socket: string, method: string, path: string, body?: string, timeoutMs = 10_000): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, agent: false, method, path, headers: body ? { 'content-type': 'application/json' } : {}, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
