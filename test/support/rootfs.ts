// A container-like world without Docker: a minimal root directory holding only the single
// executable (as the Dockerfile's runtime stage does: /usr/local/bin/ringmaster and the addon
// beside it), the shared libraries `ldd` lists for it, busybox with its applets as /bin/*, a few
// device nodes and /etc files, and the test's configs. It is entered with
//   unshare --pid --fork --kill-child --mount-proc --root=DIR [--wd=DIR]
// so ringmaster is PID 1 of a fresh PID namespace, with a fresh /proc, no node and no node_modules.
// `busybox env -i` gives it an image-like environment (PATH, HOME) and then execs ringmaster, so
// ringmaster itself is PID 1, like the Dockerfile's ENTRYPOINT.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { BUNDLE, NO_UNSHARE, ROOT, Ringmaster, canUnshare, tempDir } from './ringmaster';

export const SEA = path.join(ROOT, 'dist', 'ringmaster');
export const ADDON = path.join(ROOT, 'dist', 'ringmaster.node');
/** A static busybox; RM_TEST_BUSYBOX points at one elsewhere (e.g. extracted with `apt-get download busybox-static`). */
export const BUSYBOX = process.env.RM_TEST_BUSYBOX ?? '/bin/busybox';
/** Where the Dockerfile puts the binary; the harness mirrors its ENTRYPOINT. */
export const ENTRYPOINT = '/usr/local/bin/ringmaster';
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why the container-like tests cannot run here, or undefined when they can. */
export function rootfsSkipReason(): string | undefined {
  if (!existsSync(SEA)) return `${SEA} (the single executable) is missing: run \`node scripts/build.mjs\` (npm test builds with --no-sea)`;
  // The SEA is built from the bundle: one older than the bundle is stale (a later --no-sea build).
  if (statSync(SEA).mtimeMs < statSync(BUNDLE).mtimeMs) return `${SEA} is older than ${BUNDLE}: run \`node scripts/build.mjs\` to rebuild the single executable`;
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing: install busybox-static`;
  if (process.platform !== 'linux') return 'needs Linux';
  if (!canUnshare()) return NO_UNSHARE;
  return undefined;
}

/** The shared libraries (and the dynamic loader) a binary needs, by absolute path. */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** The file itself (symlinks resolved), hard-linked when possible (no copy of ~100 MB), else copied. */
function place(src: string, dest: string, mode?: number): void {
  src = realpathSync(src);
  mkdirSync(path.dirname(dest), { recursive: true });
  rmSync(dest, { force: true });
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
  if (mode !== undefined) chmodSync(dest, mode);
}

export interface ContainerRunOptions {
  /** Arguments after the ENTRYPOINT (the image's CMD). */
  args?: string[];
  /** The container's environment on top of PATH and HOME (everything else of ours is dropped). */
  env?: Record<string, string>;
  /** Working directory inside the root (docker's WORKDIR); default `/`. */
  cwd?: string;
}

export class Rootfs {
  /** Every container started here, killed by remove() in case a failed test left one running. */
  private runs: Ringmaster[] = [];
  private constructor(readonly dir: string) {}

  /** Build a fresh root. Throws when the SEA or busybox is missing (check rootfsSkipReason first). */
  static create(): Rootfs {
    const fs = new Rootfs(tempDir('rm-rootfs-'));
    fs.populate();
    return fs;
  }

  private populate(): void {
    const d = this.dir;
    for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/local/bin', 'etc', 'proc', 'dev', 'root', 'srv', 'var/log', 'run']) {
      mkdirSync(path.join(d, dir), { recursive: true });
    }
    mkdirSync(path.join(d, 'tmp'), { recursive: true });
    chmodSync(path.join(d, 'tmp'), 0o1777);

    // The image's only program besides busybox: the single executable, addon beside it.
    place(SEA, this.path(ENTRYPOINT), 0o755);
    if (existsSync(ADDON)) place(ADDON, this.path(path.join(path.dirname(ENTRYPOINT), 'ringmaster.node')));
    for (const lib of sharedLibraries(SEA)) place(lib, this.path(lib));

    place(BUSYBOX, this.path('/bin/busybox'), 0o755);
    const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    for (const applet of applets) symlinkSync('busybox', this.path(`/bin/${applet}`));
    symlinkSync('/bin/busybox', this.path('/usr/bin/env'));

    writeFileSync(this.path('/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(this.path('/etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    // Device nodes a container gets from its runtime.
    for (const [name, major, minor] of [['null', 1, 3], ['zero', 1, 5], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0]] as const) {
      const r = spawnSync('mknod', ['-m', '666', this.path(`/dev/${name}`), 'c', String(major), String(minor)]);
      if (r.status !== 0) throw new Error(`mknod /dev/${name} failed: ${r.stderr}`);
    }
  }

  /** The host path of `p` inside the root. */
  path(p: string): string {
    return path.join(this.dir, p);
  }

  /** Write a file inside the root (e.g. a config); returns its path inside the root. */
  write(p: string, content: string, mode = 0o644): string {
    const host = this.path(p);
    mkdirSync(path.dirname(host), { recursive: true });
    writeFileSync(host, content);
    chmodSync(host, mode);
    return p;
  }

  read(p: string): string {
    return readFileSync(this.path(p), 'utf8');
  }

  exists(p: string): boolean {
    return existsSync(this.path(p));
  }

  /**
   * Run the image: ringmaster as PID 1 of a new PID namespace inside this root, with
   * `ENTRYPOINT args…`. The returned Ringmaster's ringmasterPid() is ringmaster's host pid, to
   * send signals from outside as `docker stop` / `docker kill` do.
   */
  run(opts: ContainerRunOptions = {}): Ringmaster {
    const env = { PATH: IMAGE_PATH, HOME: '/root', HOSTNAME: 'ringmaster-test', ...opts.env };
    const command = [
      `--root=${this.dir}`,
      `--wd=${opts.cwd ?? '/'}`,
      '/bin/busybox', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ENTRYPOINT,
    ];
    const rm = new Ringmaster({ pid1: true, command, args: opts.args });
    this.runs.push(rm);
    return rm;
  }

  /** Kill what is still running (by unshare's pid: --kill-child takes the namespace down), delete the root. */
  remove(): void {
    for (const rm of this.runs) if (rm.proc.exitCode === null && rm.proc.signalCode === null) rm.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Host pids of every process in the same PID namespace as `hostPid` (its "container"). */
export function namespacePids(hostPid: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${hostPid}/ns/pid`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/pid`) === ns) out.push(Number(e));
    } catch {
      // exited
    }
  }
  return out;
}

/** The state letter of a process (`R`, `S`, `T`, `Z` …), or '' when it is gone. */
export function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return '';
  }
}

/** How many zombies (state Z) the container of `hostPid` holds right now. */
export function zombiesInNamespace(hostPid: number): number {
  return namespacePids(hostPid).filter((p) => procState(p) === 'Z').length;
}
