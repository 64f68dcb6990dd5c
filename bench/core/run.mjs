#!/usr/bin/env node
// Core figures of issue #2, ringmaster beside supervisord (Debian's, run the Docker way) in the
// same run: time until 100 programs are alive, RSS with 100 programs, idle CPU over 20 s, time to
// shut down 100 programs, time to shut down 10 TERM-ignoring programs with stopwaitsecs 2.
//   node bench/core/run.mjs [startup|rss|idle|shutdown|stubborn] [--runs N] [--idle-seconds S]
// Needs `node scripts/build.mjs --no-sea` first; supervisord from the `supervisor` package.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');
const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('--'));
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 3;
const IDLE_S = Number(args[args.indexOf('--idle-seconds') + 1]) || 20;
const HAVE_SUPERVISORD = spawnSync('supervisord', ['--version']).status === 0;
const CLK_TCK = 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

/** Live processes whose command line contains `marker`. */
function countMarked(marker) {
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) > 57) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(marker) && stat(e)?.state !== 'Z') n++;
    } catch {}
  }
  return n;
}

async function until(cond, timeoutMs, what, stepMs = 3) {
  const t = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > t) throw new Error(`timed out: ${what}`);
    await sleep(stepMs);
  }
}

function configs(dir, programs) {
  const yaml = ['settings: {shutdown_timeout: 60s}', 'programs:'];
  const ini = [
    '[supervisord]', 'nodaemon=true', 'logfile=/dev/null', `pidfile=${dir}/s.pid`, `childlogdir=${dir}`, 'loglevel=warn',
    '[unix_http_server]', `file=${dir}/s.sock`,
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
  ];
  for (const p of programs) {
    yaml.push(`  ${p.name}: {command: ${JSON.stringify(p.command)}, startsecs: 1, stopwaitsecs: ${p.stopwait}}`);
    ini.push(`[program:${p.name}]`, `command=${p.command}`, 'startsecs=1', `stopwaitsecs=${p.stopwait}`,
      'stopasgroup=true', 'killasgroup=true', 'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0',
      'stderr_logfile=/dev/stderr', 'stderr_logfile_maxbytes=0');
  }
  writeFileSync(path.join(dir, 'r.yaml'), yaml.join('\n') + '\n');
  writeFileSync(path.join(dir, 's.conf'), ini.join('\n') + '\n');
}

function start(side, dir) {
  const argv = side === 'ringmaster'
    ? [process.execPath, BUNDLE, '-c', path.join(dir, 'r.yaml')]
    : ['supervisord', '-n', '-c', path.join(dir, 's.conf')];
  // Both write to /dev/null: Node's 'pipe' stdio is a socketpair, on which supervisord's
  // /dev/stdout log files fail with ENXIO (a container's stdout is a pipe or a file).
  const out = process.env.BENCH_DEBUG ? 'inherit' : openSync('/dev/null', 'w');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], detached: true });
  const exited = new Promise((resolve) => child.on('exit', () => resolve(Date.now())));
  return { child, t0: Date.now(), exited };
}

function killAll(run) {
  try {
    process.kill(-run.child.pid, 'SIGKILL');
  } catch {}
}

/** One full cycle: start N programs, wait until all are alive, optionally measure, then stop. */
async function cycle(side, { n = 100, command, stopwait = 10, measure }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rm-bench-'));
  const marker = `${Date.now() % 100000}${Math.floor(Math.random() * 1e6)}`;
  const cmd = command ? command(marker) : `sleep 100000.${marker}`;
  configs(dir, Array.from({ length: n }, (_, i) => ({ name: `p${String(i).padStart(3, '0')}`, command: cmd, stopwait })));
  const run = start(side, dir);
  try {
    await until(() => countMarked(marker) >= n, 30_000, `${side}: ${n} programs alive`);
    const startupMs = Date.now() - run.t0;
    const extra = measure ? await measure(run, marker) : {};
    return { startupMs, ...extra };
  } finally {
    killAll(run);
    await Promise.race([run.exited, sleep(2000)]);
    // The programs are in their own groups: anything left of this run is found by its marker.
    for (const e of readdirSync('/proc')) {
      try {
        if (readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(marker)) process.kill(Number(e), 'SIGKILL');
      } catch {}
    }
  }
}

async function shutdownMeasure(run, marker) {
  await sleep(1500); // past startsecs: everyone RUNNING
  const t = Date.now();
  process.kill(run.child.pid, 'SIGTERM');
  const exitedAt = await Promise.race([run.exited, sleep(30_000).then(() => null)]);
  await until(() => countMarked(marker) === 0, 10_000, 'programs gone');
  return { shutdownMs: (exitedAt ?? Date.now()) - t, goneMs: Date.now() - t };
}

const METRICS = {
  startup: { label: 'time until 100 programs alive (ms)', target: (r, s) => (s ? r <= s / 4 : null), goal: '≤ ¼ supervisord',
    run: (side) => cycle(side, {}).then((x) => x.startupMs) },
  rss: { label: 'RSS with 100 programs (MB)', target: (r) => r <= 45, goal: '≤ 45 MB',
    run: (side) => cycle(side, { measure: async (run) => { await sleep(1500); return { rss: rssKb(run.child.pid) / 1024 }; } }).then((x) => x.rss) },
  idle: { label: `CPU over ${IDLE_S} s idle, 100 programs (ms)`, target: (r, s) => (s === null ? null : r <= s), goal: '≤ supervisord', runs: 1,
    run: (side) => cycle(side, { measure: async (run) => {
      // Idle means after start-up has settled (V8 runs its memory-reducing GCs in the first seconds).
      await sleep(10_000);
      const a = stat(run.child.pid).cpuTicks;
      await sleep(IDLE_S * 1000);
      return { cpuMs: ((stat(run.child.pid).cpuTicks - a) * 1000) / CLK_TCK };
    } }).then((x) => x.cpuMs) },
  shutdown: { label: 'shut down 100 programs (ms)', target: (r) => r < 500, goal: '< 500 ms',
    run: (side) => cycle(side, { measure: shutdownMeasure }).then((x) => x.shutdownMs) },
  stubborn: { label: 'shut down 10 TERM-ignoring, stopwaitsecs 2 (ms)', target: (r) => r <= 2300, goal: '≤ 2300 ms',
    run: (side) => cycle(side, { n: 10, stopwait: 2, measure: shutdownMeasure,
      command: (m) => `sh -c "trap '' TERM; while :; do sleep 0.1; done; : ${m}"` }).then((x) => x.shutdownMs) },
};

const fmt = (x) => (x === null ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const rows = [];
for (const [name, m] of Object.entries(METRICS)) {
  if (only && only !== name) continue;
  const runs = m.runs ?? RUNS;
  const r = [];
  const s = [];
  for (let i = 0; i < runs; i++) {
    r.push(await m.run('ringmaster'));
    if (HAVE_SUPERVISORD) s.push(await m.run('supervisord'));
  }
  const rm = median(r);
  const sv = s.length ? median(s) : null;
  const met = m.target(rm, sv);
  rows.push([m.label, fmt(rm), fmt(sv), m.goal, met === null ? '?' : met ? 'yes' : 'NO']);
  process.stderr.write(`${name}: ringmaster ${r.map(fmt).join(' ')} | supervisord ${s.map(fmt).join(' ')}\n`);
}
const head = ['metric', 'ringmaster', 'supervisord', 'target', 'met'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
if (!HAVE_SUPERVISORD) console.log('(supervisord not installed: apt-get install supervisor for the baseline)');
