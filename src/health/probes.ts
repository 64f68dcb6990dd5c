// The periodic probes of a healthcheck (exec, http, tcp): each runs once, is bounded by its
// timeout, and leaves nothing behind. The log probe is not periodic: see log-watch.ts.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { describeExit } from '../exit-status';
import { trySignal } from '../signal-util';

export interface ProbeResult {
  ok: boolean;
  /** What the probe saw, for status and logs: the check's output, an HTTP status, an error. */
  output: string;
}

/** A started check command: the project's spawn (src/pid1/spawn) in its own process group. */
export interface CheckChild {
  pid: number;
  /** stdout and stderr together. */
  stdout?: Readable;
  exited: Promise<{ code: number | null; signal: number | null }>;
}

/** Keep this much of a check's output (the end of it, where the reason usually is). */
const OUTPUT_BYTES = 1024;

/**
 * Run a check command to its end. At the timeout (or when the program stops: `signal`) its whole
 * process group is SIGKILLed; the Reaper reaps it, so it never stays a zombie. Members of its group
 * that outlive the leader are killed as soon as the leader is reaped.
 */
export async function execProbe(start: () => CheckChild, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  let child: CheckChild;
  try {
    child = start();
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
  let kept = Buffer.alloc(0);
  child.stdout?.on('data', (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > OUTPUT_BYTES) kept = kept.subarray(kept.length - OUTPUT_BYTES);
  });
  child.stdout?.on('error', () => {});
  let timedOut = false;
  const killGroup = () => trySignal(-child.pid, 'SIGKILL');
  const onAbort = () => killGroup();
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) killGroup();
  const status = await child.exited;
  // The group id cannot be reused while members are left: whatever is in it now is the check's.
  killGroup();
  clearTimeout(timer);
  signal.removeEventListener('abort', onAbort);
  // Give what the pipe still holds a moment (bounded), then close our end even if a stray holds it.
  if (child.stdout && !child.stdout.readableEnded) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 50);
      child.stdout!.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    child.stdout.destroy();
  }
  const text = kept.toString('utf8').trim();
  if (timedOut) return { ok: false, output: `timed out after ${timeoutMs / 1000}s${text ? `: ${text}` : ''}` };
  const ok = status.signal === null && status.code === 0;
  return { ok, output: ok ? text : `${describeExit(status)}${text ? `: ${text}` : ''}` };
}

/** GET the URL; 2xx and 3xx pass (redirects are not followed). */
export function httpProbe(url: string, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // https (and with it tls and crypto) is loaded by the first https check, not at start-up.
    const request = url.startsWith('https:') ? (require('node:https') as typeof import('node:https')).request : httpRequest;
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request(url, { method: 'GET', agent: false, signal, headers: { 'user-agent': 'ringmaster-healthcheck' } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      finish({ ok: code >= 200 && code < 400, output: `HTTP ${code}` });
    });
    const timer = setTimeout(() => finish({ ok: false, output: `timed out after ${timeoutMs / 1000}s` }), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, output: err.code ?? err.message }));
    req.end();
  });
}

/** Passes when a TCP connection is accepted; it is closed at once. */
export function tcpProbe(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ ok: false, output: 'cancelled' });
    const timer = setTimeout(() => finish({ ok: false, output: `timed out after ${timeoutMs / 1000}s` }), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, output: `connected to ${host}:${port}` }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, output: err.code ?? err.message }));
  });
}
