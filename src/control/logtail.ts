import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SupervisorApi } from '../supervisor/api';
import type { StreamName } from '../types';
import { HttpError } from './http-util';
import type { RpcDeps } from './xmlrpc/methods';

/** Supervisor's tail_f_producer starts with the last 1024 bytes. */
const HEAD_BYTES = 1024;

/**
 * Supervisor's `GET /logtail/<name>[/stdout|/stderr]` and `GET /mainlogtail`, which
 * `supervisorctl tail -f` and `maintail -f` read: the last KiB, then everything printed after,
 * chunked, until the client goes away.
 */
export async function handleLogtail(req: IncomingMessage, url: URL, res: ServerResponse, deps: RpcDeps): Promise<void> {
  if (req.method !== 'GET') throw new HttpError(400, 'logtail takes GET');
  let name: string | null = null;
  let channel: StreamName = 'stdout';
  if (url.pathname !== '/mainlogtail') {
    let rest: string;
    try {
      rest = decodeURIComponent(url.pathname.slice('/logtail/'.length));
    } catch {
      throw new HttpError(404, 'no such process (the name is not valid %-encoding)');
    }
    const slash = rest.indexOf('/');
    name = slash < 0 ? rest : rest.slice(0, slash);
    const asked = slash < 0 ? 'stdout' : rest.slice(slash + 1);
    if (asked !== 'stdout' && asked !== 'stderr') throw new HttpError(404, `no such channel: ${asked}`);
    channel = asked;
    try {
      await deps.api.get(name);
    } catch {
      throw new HttpError(404, `no such process: ${name}`);
    }
  }
  res.writeHead(200, { 'content-type': 'text/plain;charset=utf-8', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  followInto(deps.api, name, channel, res, HEAD_BYTES);
}

/** A reader that stopped reading loses output beyond this, instead of ringmaster's memory. */
const MAX_QUEUED = 1024 * 1024;

/** Write the last `head` bytes, then every new chunk, until the client goes away. */
export function followInto(api: SupervisorApi, name: string | null, stream: StreamName, res: ServerResponse, head: number): void {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  api.followLog(name, stream, head, (chunk) => {
    if (res.writableLength < MAX_QUEUED) res.write(chunk);
  }, gone.signal).catch(() => res.destroy());
}
