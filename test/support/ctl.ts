import { spawn } from 'node:child_process';
import { BUNDLE } from './ringmaster';

/** `ringmaster ctl -s SOCKET ARGS…` from the built bundle: exit code and stdout+stderr, bounded. */
export function ctl(socket: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUNDLE, 'ctl', '-s', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}
