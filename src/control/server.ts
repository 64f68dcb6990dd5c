import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ApiDeps } from './api';
import { answerClientError, closeServer, listen } from './http-util';

/** Is something answering on this socket? (A stale file from a killed ringmaster is not.) */
function inUse(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface ControlServer {
  /** Where it listens, or null when no socket could be made. */
  socketPath: string | null;
  close(): Promise<void>;
}

/**
 * The control socket (SPEC §6): HTTP on a unix socket, mode 0700. Where `/run` (the configured
 * directory) is not writable, the temp dir; where neither works, a warning and no socket — a
 * container never fails to start for want of its control socket.
 */
export async function startControlServer(
  configured: string,
  deps: ApiDeps,
  warn: (text: string) => void,
  info: (text: string) => void = warn,
): Promise<ControlServer> {
  const server = createServer((req, res) => serve(req, res, deps));
  server.on('clientError', answerClientError);
  const candidates = [configured, path.join(tmpdir(), path.basename(configured))];
  // One warning however many places failed (a read-only root fails them all), not one per place.
  const failed: string[] = [];
  for (const candidate of [...new Set(candidates)]) {
    try {
      if (existsSync(candidate)) {
        if (await inUse(candidate)) {
          failed.push(`${candidate} is in use by another process`);
          continue;
        }
        unlinkSync(candidate);
      }
      await listen(server, candidate);
      chmodSync(candidate, 0o700);
      // The fallback is the documented place, not a failure: an information line.
      if (failed.length > 0) info(`control socket at ${candidate} (${failed.join('; ')})`);
      return {
        socketPath: candidate,
        close: () => {
          const closed = closeServer(server);
          try {
            unlinkSync(candidate);
          } catch {
            // already gone
          }
          return closed;
        },
      };
    } catch (err) {
      failed.push(`cannot listen on ${candidate}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  warn(`no control socket (${failed.join('; ')}): \`ringmaster ctl\` will not reach this ringmaster`);
  return { socketPath: null, close: async () => {} };
}
