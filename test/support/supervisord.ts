// Debian's real supervisord and supervisorctl, for tests that compare ringmaster with them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, sleep } from './ringmaster';

export const SUPERVISORD = '/usr/bin/supervisord';
export const SUPERVISORCTL = '/usr/bin/supervisorctl';
export const NO_SUPERVISOR = existsSync(SUPERVISORD) && existsSync(SUPERVISORCTL)
  ? undefined
  : 'Debian\'s supervisor package is not installed (.ci/run installs it)';

/** An INI config with its own socket, log and pid file in `dir`, then the given program sections. */
export function supervisordConfig(dir: string, sections: string): string {
  const file = path.join(dir, 'supervisord.conf');
  writeFileSync(
    file,
    `[unix_http_server]
file=${path.join(dir, 'supervisord.sock')}

[supervisord]
nodaemon=true
logfile=${path.join(dir, 'supervisord.log')}
pidfile=${path.join(dir, 'supervisord.pid')}
childlogdir=${dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

${sections}`,
  );
  return file;
}

export class Supervisord {
  readonly proc: ChildProcess;
  readonly socket: string;
  readonly exited: Promise<void>;

  constructor(readonly config: string) {
    this.socket = path.join(path.dirname(config), 'supervisord.sock');
    this.proc = spawn(SUPERVISORD, ['-n', '-c', config], { stdio: 'ignore' });
    this.exited = new Promise((resolve) => this.proc.on('close', () => resolve()));
  }

  async ready(): Promise<void> {
    await eventually(() => existsSync(this.socket), 10_000, 'supervisord socket');
  }

  /** TERM by pid (supervisord stops its programs), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      process.kill(this.proc.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

export interface CtlResult {
  code: number | null;
  out: string;
}

/** Run Debian's supervisorctl against `url` (unix:///… or http://…), bounded. */
export function supervisorctl(url: string, args: string[], extra: string[] = [], timeoutMs = 20_000): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(SUPERVISORCTL, ['-s', url, ...extra, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** `supervisorctl tail -f`: what it printed in `ms`, then it is stopped by its pid. */
export async function supervisorctlFollow(url: string, args: string[], ms: number): Promise<string> {
  const child = spawn(SUPERVISORCTL, ['-s', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const closed = new Promise((resolve) => child.on('close', resolve));
  await sleep(ms);
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await closed;
  clearTimeout(t);
  return out;
}

/** Python with Debian's supervisor package importable (for its childutils and xmlrpc helpers). */
export function debianPython(script: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
