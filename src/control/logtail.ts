import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TailBuffer } from '../output/tail';
import { HttpError } from './http-util';
import { lookup } from './xmlrpc/process-calls';
import type { RpcDeps } from './xmlrpc/methods';

/** Supervisor's tail_f_producer starts with the last 1024 bytes. */
const HEAD_BYTES = 1024;

/**
 * Supervisor's `GET /logtail/<name>[/stdout|/stderr]` and `GET /mainlogtail`, which
 * `supervisorctl tail -f` and `maintail -f` read: the last KiB, then everything printed after,
 * chunked, until the client goes away.
 */
export function handleLogtail(req: IncomingMessage, url: URL, res: ServerResponse, deps: RpcDeps): void {
  if (req.method !== 'GET') throw new HttpError(400, 'logtail takes GET');
  let buffer: TailBuffer | undefined;
  if (url.pathname === '/mainlogtail') buffer = deps.output.mainLog();
  else {
    let rest: string;
    try {
      rest = decodeURIComponent(url.pathname.slice('/logtail/'.length));
    } catch {
      throw new HttpError(404, 'no such process (the name is not valid %-encoding)');
    }
    const slash = rest.indexOf('/');
    const name = slash < 0 ? rest : rest.slice(0, slash);
    const channel = slash < 0 ? 'stdout' : rest.slice(slash + 1);
    if (channel !== 'stdout' && channel !== 'stderr') throw new HttpError(404, `no such channel: ${channel}`);
    let process;
    try {
      process = lookup(deps.supervisor, name).process;
    } catch {
      process = null;
    }
    if (!process) throw new HttpError(404, `no such process: ${name}`);
    buffer = deps.output.tail(process.name, channel, true);
  }
  res.writeHead(200, { 'content-type': 'text/plain;charset=utf-8', 'x-accel-buffering': 'no' });
  if (!buffer) return void res.end();
  followInto(buffer, res, HEAD_BYTES);
}

/** A reader that stopped reading loses output beyond this, instead of ringmaster's memory. */
const MAX_QUEUED = 1024 * 1024;

/** Write the last `head` bytes, then every new chunk, until the client goes away. */
export function followInto(buffer: TailBuffer, res: ServerResponse, head: number): void {
  const first = buffer.last(head);
  if (first.length > 0) res.write(first);
  const stop = buffer.follow((chunk) => {
    if (res.writableLength < MAX_QUEUED) res.write(chunk);
  });
  res.on('close', stop);
}
