// Runs the built dist/ringmaster.cjs as the tests' system under test: real processes, real
// signals, real pipes. Every wait is bounded; every process is killed by its pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');

if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build:bundle\` first`);

export function tempDir(prefix = 'rm-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Write a config into a fresh temp dir; returns its path. */
export function writeConfig(yaml: string, dir = tempDir()): string {
  const file = path.join(dir, 'ringmaster.yaml');
  writeFileSync(file, yaml);
  return file;
}

let unshareChecked: boolean | undefined;
/** Whether `unshare --pid --fork --mount-proc` works here (root or user namespaces). */
export function canUnshare(): boolean {
  if (unshareChecked === undefined) {
    const r = spawnSync('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'true'], { stdio: 'ignore' });
    unshareChecked = r.status === 0;
  }
  return unshareChecked;
}
export const NO_UNSHARE = 'unshare --pid --fork --mount-proc is not available here (needs root or user namespaces)';

export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Run as PID 1 of a new PID namespace. */
  pid1?: boolean;
  cwd?: string;
  /** The command to run instead of `node dist/ringmaster.cjs` (e.g. the SEA). */
  command?: string[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Ringmaster {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private waiters: Array<() => void> = [];

  constructor(opts: RunOptions = {}) {
    const base = opts.command ?? [process.execPath, BUNDLE];
    const argv = opts.pid1 ? ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc', ...base] : base;
    this.proc = spawn(argv[0], [...argv.slice(1), ...(opts.args ?? [])], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('close', (code, signal) => {
        this.notify();
        resolve({ code, signal });
      });
    });
  }

  /** The pid ringmaster itself has in our namespace (under unshare: the child of unshare). */
  async ringmasterPid(timeoutMs = 5000): Promise<number> {
    const wrapper = this.proc.pid!;
    if (!this.isWrapper()) return wrapper;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const children = childrenOf(wrapper);
      if (children.length > 0) return children[0];
      if (Date.now() > until) throw new Error('ringmaster did not start under unshare');
      await sleep(10);
    }
  }

  private isWrapper(): boolean {
    return this.proc.spawnargs[0] === 'unshare';
  }

  async signal(sig: NodeJS.Signals): Promise<void> {
    process.kill(await this.ringmasterPid(), sig);
  }

  /** Wait until all output so far matches `re` (stdout + stderr), or fail after `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs = 10_000, stream: 'stdout' | 'stderr' | 'both' = 'both'): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = stream === 'stdout' ? this.stdout : stream === 'stderr' ? this.stderr : this.stdout + this.stderr;
      const m = text.match(re);
      if (m) return m;
      const left = until - Date.now();
      if (left <= 0 || this.proc.exitCode !== null || this.proc.signalCode !== null) {
        if (m) return m;
        throw new Error(`timed out waiting for ${re}\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the exit, or SIGKILL everything after `timeoutMs` and fail. */
  async wait(timeoutMs = 15_000): Promise<Exit> {
    const t = setTimeout(() => this.kill(), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** SIGKILL ringmaster (and so, under unshare, the whole namespace). */
  kill(): void {
    try {
      process.kill(this.proc.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Direct children of a pid, from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === pid) out.push(Number(e));
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Whether a pid exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll a condition (for OS state that has no event we can subscribe to), bounded. */
export async function eventually(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
