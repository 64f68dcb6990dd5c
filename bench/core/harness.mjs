// Helpers of bench/core: /proc readers, config writers for both supervisors, spawning a
// supervisor with its output going into a pipe that is read and discarded, and cleanup by pid/pgid.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BUNDLE = path.resolve(process.env.RINGMASTER_BUNDLE || path.join(ROOT, 'dist', 'ringmaster.cjs'));

/**
 * The bundle and its addon copied once into a private directory, so that a rebuild of dist/ by
 * someone else during the bench cannot change (or break) ringmaster between runs.
 */
let snapshot = null;
export function bundleSnapshot() {
  if (snapshot) return snapshot;
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'rm-bench-bundle-'));
  for (const f of fs.readdirSync(path.dirname(BUNDLE))) {
    if (f === path.basename(BUNDLE) || f.endsWith('.node')) fs.copyFileSync(path.join(path.dirname(BUNDLE), f), path.join(dir, f));
  }
  snapshot = path.join(dir, path.basename(BUNDLE));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return snapshot;
}
export const SIDES = ['ringmaster', 'supervisord'];
export const now = () => performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
export const haveSupervisord = () => spawnSync('supervisord', ['--version']).status === 0;

/** State letter and utime+stime (ticks) of a process, or null if it is gone. */
export function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], cpuTicks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

/** Whole-machine CPU jiffies (busy, total) from /proc/stat, to tell how loaded the box was. */
export function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}
/** Share of all cores busy between two machineCpu() readings, in %. */
export const busyPct = (a, b) => (b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0);

/** VmRSS and VmHWM (peak RSS) in kB. */
export function memKb(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]) };
}

/** Pids of processes whose command line contains `marker`; live (non-zombie) ones only unless `all`. */
export function markedPids(marker, all = false) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      if (!fs.readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(marker)) continue;
      if (all || procStat(e)?.state !== 'Z') out.push(Number(e));
    } catch {}
  }
  return out;
}

const isPid = (e) => {
  const c = e.charCodeAt(0);
  return c >= 48 && c <= 57;
};
const cmdlineBuf = Buffer.alloc(8192);

/**
 * Counts the live processes carrying `marker` in their command line, cheaply enough to be polled
 * every few ms on a 2-core machine without stealing much CPU from the supervisor being timed
 * (markedPids reads every process's cmdline and costs ~2-4 ms a scan here; this ~0.1 ms + ~10 µs
 * per new process). Create it before the supervisor is spawned: the processes that exist then
 * cannot be ours and are skipped (until their pid disappears, so a reused pid is looked at).
 * A zombie's cmdline is empty, so "carries the marker" also means "not a zombie".
 */
export class MarkerWatch {
  constructor(marker) {
    this.marker = Buffer.from(marker);
    this.foreign = new Set(fs.readdirSync('/proc').filter(isPid));
  }

  count() {
    let n = 0;
    const still = new Set();
    for (const e of fs.readdirSync('/proc')) {
      if (!isPid(e)) continue;
      if (this.foreign.has(e)) {
        still.add(e);
        continue;
      }
      let fd;
      try {
        fd = fs.openSync(`/proc/${e}/cmdline`, 'r');
        const got = fs.readSync(fd, cmdlineBuf, 0, cmdlineBuf.length, 0);
        if (got > 0 && cmdlineBuf.subarray(0, got).includes(this.marker)) n++;
      } catch {
        // gone meanwhile
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
    }
    this.foreign = still;
    return n;
  }
}

/** Poll `cond` every `stepMs` until true; bounded by `timeoutMs`; stops early if `run` exited. */
export async function until(cond, { timeoutMs, what, stepMs = 3, run = null }) {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (cond()) return now();
    if (run?.exitedAt != null) throw new Error(`${run.side} exited (${run.exitDesc}) before: ${what}; output tail:\n${run.tail()}`);
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}${run ? `; output tail:\n${run.tail()}` : ''}`);
    await sleep(stepMs);
  }
}

export function newMarker() {
  return `${Date.now() % 1e6}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
}

/** Writes r.yaml (ringmaster) and s.conf (supervisord) with the same programs into `dir`. */
export function writeConfigs(dir, programs) {
  const yaml = ['settings:', '  shutdown_timeout: 30s', `  socket: ${JSON.stringify(path.join(dir, 'r.sock'))}`, 'programs:'];
  const ini = [
    '[supervisord]', 'nodaemon=true', 'logfile=/dev/null', `pidfile=${dir}/s.pid`, `childlogdir=${dir}`,
    '[unix_http_server]', `file=${dir}/s.sock`,
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
  ];
  for (const p of programs) {
    const stop = p.stopwaitsecs != null ? `, stopwaitsecs: ${p.stopwaitsecs}s` : '';
    yaml.push(`  ${p.name}: {command: ${JSON.stringify(p.command)}, startsecs: 1${stop}}`);
    ini.push('', `[program:${p.name}]`, `command=${p.command}`, 'startsecs=1',
      ...(p.stopwaitsecs != null ? [`stopwaitsecs=${p.stopwaitsecs}`] : []),
      'stopasgroup=true', 'killasgroup=true',
      'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0',
      'stderr_logfile=/dev/stderr', 'stderr_logfile_maxbytes=0');
  }
  fs.writeFileSync(path.join(dir, 'r.yaml'), yaml.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 's.conf'), ini.join('\n') + '\n');
}

export function programs(n, command, stopwaitsecs) {
  return Array.from({ length: n }, (_, i) => ({ name: `p${String(i).padStart(3, '0')}`, command, stopwaitsecs }));
}

/**
 * A real pipe (a FIFO, as a container runtime gives: Node's own 'pipe' stdio is a socketpair, on
 * which supervisord cannot open /dev/stdout) whose read end this process drains and discards.
 */
function discardPipe(dir, keepTail) {
  const fifo = path.join(dir, 'out.fifo');
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
  const rfd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const wfd = fs.openSync(fifo, fs.constants.O_WRONLY);
  const reader = new net.Socket({ fd: rfd, readable: true, writable: false });
  reader.on('data', keepTail);
  reader.on('error', () => {});
  return { wfd, reader };
}

const live = new Set();

/** Spawns one supervisor on the configs in `dir`, in its own process group. */
export function startSupervisor(side, dir) {
  const argv = side === 'ringmaster'
    ? [...(/\.c?js$/.test(BUNDLE) ? [process.execPath] : []), bundleSnapshot(), '-c', path.join(dir, 'r.yaml')]
    : ['supervisord', '-n', '-c', path.join(dir, 's.conf')];
  let tail = '';
  let bytes = 0;
  const keep = (b) => {
    bytes += b.length;
    tail = (tail + b.toString('latin1')).slice(-3000);
  };
  const debug = !!process.env.BENCH_DEBUG;
  const pipe = debug ? null : discardPipe(dir, keep);
  const out = debug ? 'inherit' : pipe.wfd;
  const t0 = now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], detached: true, cwd: dir });
  if (pipe) fs.closeSync(pipe.wfd);
  const run = {
    side, dir, child, pid: child.pid, t0, exitedAt: null, exitDesc: null,
    tail: () => tail, bytes: () => bytes, reader: pipe?.reader,
  };
  run.exited = new Promise((resolve) => child.on('exit', (code, sig) => {
    run.exitedAt ??= now();
    run.exitDesc = sig ? `signal ${sig}` : `code ${code}`;
    resolve(run.exitedAt);
  }));
  child.on('error', (e) => { run.exitedAt ??= now(); run.exitDesc = e.message; });
  live.add(run);
  return run;
}

/** True once the supervisor is gone or a zombie (faster to see than the 'exit' event). */
export function supervisorGone(run) {
  if (run.exitedAt != null) return true;
  const st = procStat(run.pid);
  if (st === null || st.state === 'Z') {
    run.exitedAt = now();
    return true;
  }
  return false;
}

/** Kills a run's supervisor group and whatever carries its marker, by pid; bounded waits. */
export async function cleanup(run, marker) {
  try { process.kill(-run.pid, 'SIGKILL'); } catch {}
  await Promise.race([run.exited, sleep(3000)]);
  for (let i = 0; i < 20; i++) {
    const left = markedPids(marker, true);
    if (!left.length) break;
    for (const pid of left) try { process.kill(pid, 'SIGKILL'); } catch {}
    await sleep(50);
  }
  run.reader?.destroy();
  live.delete(run);
  fs.rmSync(run.dir, { recursive: true, force: true });
}

/** Emergency cleanup on Ctrl-C / kill. Markers are remembered per run. */
export function cleanupAllSync() {
  for (const run of live) {
    try { process.kill(-run.pid, 'SIGKILL'); } catch {}
    if (run.marker) for (const pid of markedPids(run.marker, true)) try { process.kill(pid, 'SIGKILL'); } catch {}
  }
}

export function tmpDir() {
  return fs.mkdtempSync(path.join(tmpdir(), 'rm-bench-core-'));
}

/**
 * Over all live threads of `pid`: CPU time in ns from schedstat (finer than the 10 ms ticks of
 * utime+stime) and context switches (≈ wake-ups), for the idle figure's cross-check.
 */
export function threadsSched(pid) {
  let ns = 0;
  let switches = 0;
  let threads = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').split(' ')[0]);
      const st = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'latin1');
      switches += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
      threads++;
    } catch {}
  }
  return { ns, switches, threads };
}
