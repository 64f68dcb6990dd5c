import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody } from '../http-util';
import { BadRequest, RawXml, encodeFault, encodeResponse, parseCall, type RpcValue } from './codec';
import { faultStruct, invoke } from './dispatch';
import { SupervisorError } from '../../errors';
import { RpcFault } from './faults';
import type { RpcDeps } from './methods';

/** sendProcessStdin may carry a few MiB; nothing legitimate is bigger. */
export const MAX_RPC_BODY = 4 * 1024 * 1024;

function reply(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': body.length });
  res.end(body);
}

// The last cached value's whole answer (getAllProcessInfo polled within one second), as bytes.
let lastRaw: RawXml | undefined;
let lastBody: Buffer | undefined;

/** Encoded once: byteLength and a string write would each walk the ~100 KB of getAllProcessInfo. */
function responseBody(result: RpcValue): Buffer {
  if (result instanceof RawXml && result === lastRaw && lastBody) return lastBody;
  const body = Buffer.from(encodeResponse(result), 'utf8');
  if (result instanceof RawXml) [lastRaw, lastBody] = [result, body];
  return body;
}

/**
 * POST /RPC2 (any path under it, as Supervisor matches): one XML-RPC call. A call that is not
 * XML-RPC answers HTTP 400 like Supervisor; a method's failure is a fault with Supervisor's code.
 */
export async function handleRpc(req: IncomingMessage, res: ServerResponse, deps: RpcDeps): Promise<void> {
  if (req.method !== 'POST') throw new HttpError(400, 'XML-RPC takes POST');
  const body = await readBody(req, MAX_RPC_BODY);
  let call;
  try {
    call = parseCall(body.toString('utf8'));
  } catch (err) {
    if (err instanceof BadRequest) throw new HttpError(400, err.message);
    throw err;
  }
  let result;
  try {
    result = await invoke(deps, call.methodName, call.params);
  } catch (err) {
    if (!(err instanceof RpcFault) && !(err instanceof SupervisorError)) deps.log(`XML-RPC ${call.methodName} failed: ${(err as Error).stack ?? err}`, 'error');
    const f = faultStruct(err);
    return reply(res, 200, Buffer.from(encodeFault(f.faultCode as number, f.faultString as string), 'utf8'));
  }
  reply(res, 200, responseBody(result));
}
