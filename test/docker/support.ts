// The real Docker engine for test/docker/: scripts/docker-env.sh brings it up (or finds it up) and
// makes the base images; each test file builds ringmaster's image from the project's Dockerfile,
// unchanged, and runs containers it names itself and removes by that name. Where the engine cannot
// run (no root, no dockerd, no kernel support), the reason is printed and the tests skip; with
// RINGMASTER_DOCKER_REQUIRED=1 (set by .ci/run) that is a failure instead.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ENV_SCRIPT = path.join(ROOT, 'scripts', 'docker-env.sh');
/** The image the Dockerfile builds; the name compose-examples' Dockerfiles start FROM by default. */
export const IMAGE = 'ringmaster';

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Engine variables from `docker-env.sh up`, or why there is no engine. */
function engineUp(): { env: NodeJS.ProcessEnv } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'Docker tests need Linux' };
  const r = spawnSync('bash', [ENV_SCRIPT, 'up', '--lease', String(process.pid)], {
    encoding: 'utf8',
    timeout: 20 * 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.stderr) process.stderr.write(r.stderr);
  if (r.status === 3 && process.env.RINGMASTER_DOCKER_REQUIRED !== '1') {
    const reason = r.stderr.trim().split('\n').pop() ?? 'the engine cannot run here';
    console.log(`# skipping the Docker tests: ${reason}`);
    return { skip: reason };
  }
  if (r.status !== 0) throw new Error(`scripts/docker-env.sh up failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stderr}`);
  const env: NodeJS.ProcessEnv = {};
  for (const m of r.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
  return { env };
}

const up = engineUp();
/** Set when the engine cannot run here: pass as `describe(…, { skip })`. */
export const skip: string | undefined = 'skip' in up ? up.skip : undefined;
const engineEnv: NodeJS.ProcessEnv = 'env' in up ? up.env : {};
export const DOCKER = engineEnv.DOCKER ?? 'docker';
/** The environment for docker, docker-compose and anything else that talks to the engine. */
export const ENV: NodeJS.ProcessEnv = { ...process.env, ...engineEnv };

/** Drop this file's lease; the engine stops if this was the last one and docker-env.sh started it. */
export function releaseEngine(): void {
  if (skip) return;
  spawnSync('bash', [ENV_SCRIPT, 'down', '--lease', String(process.pid)], { stdio: 'inherit', timeout: 60_000 });
}

/** Run a command to its end (bounded: its process group is killed at the timeout). */
export function exec(argv: string[], opts: { timeoutMs?: number; input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...ENV, ...opts.env },
      cwd: opts.cwd ?? ROOT,
      detached: true,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`${argv.join(' ')} did not end within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

export function docker(args: string[], opts: { timeoutMs?: number; input?: string; cwd?: string } = {}): Promise<Result> {
  return exec([DOCKER, ...args], opts);
}

/** docker …, failing the test with docker's own words unless it exits 0. */
export async function dockerOk(args: string[], opts: { timeoutMs?: number; input?: string; cwd?: string } = {}): Promise<string> {
  const r = await docker(args, opts);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Build ringmaster's image from the project's Dockerfile, as is (the classic builder; the build
 *  stage's npm ci reaches the registry over the host's network). Cached layers make reruns quick. */
export async function buildImage(): Promise<void> {
  await dockerOk(['build', '--network=host', '-t', IMAGE, ROOT], { timeoutMs: 15 * 60_000 });
}

let serial = 0;
const created = new Set<string>();

/** A container name unique to this test process; removed by `removeContainers`. */
export function containerName(what: string): string {
  const name = `rmtest-${process.pid}-${++serial}-${what}`;
  created.add(name);
  return name;
}

/** `docker run -d --name NAME ARGS…`: returns NAME. --network=none unless ARGS choose one. */
export async function runDetached(what: string, args: string[]): Promise<string> {
  const name = containerName(what);
  const net = args.some((a) => a.startsWith('--network')) ? [] : ['--network=none'];
  await dockerOk(['run', '-d', '--name', name, ...net, ...args]);
  return name;
}

/** Remove every container this process created, by name. */
export async function removeContainers(): Promise<void> {
  for (const name of created) {
    await docker(['rm', '-f', '-v', name], { timeoutMs: 60_000 });
    created.delete(name);
  }
}

export async function logs(name: string): Promise<{ stdout: string; stderr: string }> {
  const r = await docker(['logs', name]);
  if (r.code !== 0) throw new Error(`docker logs ${name}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Poll until `probe` returns a value (not undefined), at most `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Wait until the container's stdout (or stderr) has a line matching `re`; returns both streams. */
export function waitLog(name: string, re: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 30_000) {
  return waitFor(`${re} in docker logs ${name} (${stream})`, async () => {
    const l = await logs(name);
    return re.test(l[stream]) ? l : undefined;
  }, timeoutMs, 250);
}

export async function inspect(name: string, format: string): Promise<string> {
  return (await dockerOk(['inspect', '--format', format, name])).trim();
}

/** Wait for the container to stop; its exit code. */
export async function waitExit(name: string, timeoutMs = 60_000): Promise<number> {
  const r = await docker(['wait', name], { timeoutMs });
  if (r.code !== 0) throw new Error(`docker wait ${name}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** A config file readable by any user (for --user), to bind-mount at /etc/ringmaster.yaml. */
export function configFile(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rm-docker-'));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'ringmaster.yaml');
  writeFileSync(file, yaml, { mode: 0o644 });
  return file;
}

/** The -v argument that mounts a config where the image's RINGMASTER_CONFIG points. */
export function mountConfig(yaml: string): string[] {
  return ['-v', `${configFile(yaml)}:/etc/ringmaster.yaml:ro`];
}

/** Lines of `text` that carry the `name | ` prefix (names are padded), without it. */
export function linesOf(text: string, name: string): string[] {
  const re = new RegExp(`^${name} +\\| (.*)$`);
  return text.split('\n').flatMap((l) => {
    const m = re.exec(l);
    return m ? [m[1]] : [];
  });
}
