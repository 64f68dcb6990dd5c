// XML-RPC calls through Python's xmlrpc.client (what supervisorctl uses), for the tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './ringmaster';

export type Result = { value?: unknown; fault?: number; string?: string; http?: number };

const RPC_PY = path.join(ROOT, 'test', 'support', 'rpc.py');

/** Run calls in order through Python's xmlrpc.client; one result (value or fault) per call. */
export function rpc(socket: string, ...calls: Array<[string, unknown[]?]>): Result[] {
  const r = spawnSync('python3', [RPC_PY, socket], { input: JSON.stringify(calls.map(([m, p]) => [m, p ?? []])), encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, `rpc.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function one(socket: string, method: string, ...params: unknown[]): Result {
  return rpc(socket, [method, params])[0];
}

export function value(socket: string, method: string, ...params: unknown[]): unknown {
  const r = one(socket, method, ...params);
  assert.equal(r.fault, undefined, `${method}(${JSON.stringify(params)}) faulted: ${r.string}`);
  return r.value;
}

export function fault(socket: string, code: number, text: RegExp, method: string, ...params: unknown[]): void {
  const r = one(socket, method, ...params);
  assert.equal(r.fault, code, `${method}(${JSON.stringify(params)}): expected fault ${code}, got ${JSON.stringify(r)}`);
  assert.match(r.string!, text);
}
