#!/usr/bin/env node
// Health-check figures (issue #6), ringmaster beside a shell loop measured in the same run:
//   idle         ringmaster's CPU over the window with 100 programs and no healthchecks
//   checks       ringmaster's CPU over the window with the same 100 programs, each checked every
//                second by an `exec` healthcheck (`test -e /proc/self`, a real fork+exec)
//   shell loop   one /bin/sh running the same 100 commands every second (`&` then `wait`)
//   scrape       time of one GET /metrics with the 100 programs (first, median, max of 20)
// CPU is utime+stime of the supervisor itself plus cutime+cstime (its reaped children: the check
// commands), from /proc/PID/stat over the window. Overhead per check compares ringmaster's
// (checks - idle) with the shell loop's, each divided by the checks it actually ran.
// Targets: scrape < 50 ms; ringmaster's check overhead within 1.5x the shell loop's.
// Usage: node bench/health/run.mjs [--seconds 60] [--json]     (build first: npm run build:bundle)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && Number.isFinite(Number(argv[i + 1])) ? Number(argv[i + 1]) : dflt;
};
const SECONDS = opt('--seconds', 60);
const JSON_OUT = argv.includes('--json');
const N = 100;
const CLK_TCK = 100; // Linux USER_HZ
const TEST = fs.existsSync('/usr/bin/test') ? '/usr/bin/test' : '/bin/test';
const log = (s) => process.stderr.write(s + '\n');

if (!fs.existsSync(BUNDLE)) {
  console.error(`${BUNDLE} missing: run npm run build:bundle`);
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = [];
function killAll() {
  for (const { pid, group } of started) {
    try {
      process.kill(group ? -pid : pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** utime+stime (self) and cutime+cstime (reaped children) of a pid, in seconds. */
function cpu(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK };
}

function get(socket, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: p, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function sumMetric(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Run ringmaster with 100 `sleep` programs (with or without checks) and measure the window. */
async function ringmaster(withChecks, measureScrape) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-bench-health-'));
  const socket = path.join(dir, 'rm.sock');
  const lines = [`settings: {socket: ${socket}, shutdown_timeout: 10s}`, 'programs:'];
  for (let i = 0; i < N; i++) {
    const check = withChecks ? `, healthcheck: {exec: [${TEST}, -e, /proc/self], interval: 1s, timeout: 5s}` : '';
    lines.push(`  p${String(i).padStart(3, '0')}: {command: "sleep 100000", startsecs: 0${check}}`);
  }
  fs.writeFileSync(path.join(dir, 'ringmaster.yaml'), lines.join('\n') + '\n');
  const child = spawn(process.execPath, [BUNDLE, '-c', path.join(dir, 'ringmaster.yaml')], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  started.push({ pid: child.pid, group: true });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await until(async () => fs.existsSync(socket), 20_000, 'the control socket');
    await until(async () => {
      const m = await get(socket, '/metrics');
      return (m.body.match(/state="RUNNING"\} 1/g) ?? []).length === N && (!withChecks || sumMetric(m.body, 'ringmaster_process_health{') === 0 || /status="healthy"\} 1/.test(m.body));
    }, 30_000, `${N} programs RUNNING`);
    await sleep(2000); // past the start burst
    const checks0 = withChecks ? sumMetric((await get(socket, '/metrics')).body, 'ringmaster_process_health_checks_total') : 0;
    const c0 = cpu(child.pid);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const c1 = cpu(child.pid);
    const t1 = performance.now();
    const checks1 = withChecks ? sumMetric((await get(socket, '/metrics')).body, 'ringmaster_process_health_checks_total') : 0;
    const result = {
      seconds: (t1 - t0) / 1000,
      self: c1.self - c0.self,
      children: c1.children - c0.children,
      checks: checks1 - checks0,
    };
    if (measureScrape) {
      const times = [];
      for (let i = 0; i < 20; i++) {
        const s = performance.now();
        const r = await get(socket, '/metrics');
        times.push(performance.now() - s);
        if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
      }
      const sorted = [...times].sort((a, b) => a - b);
      result.scrape = { firstMs: times[0], medianMs: sorted[10], maxMs: sorted[19], bytes: Buffer.byteLength((await get(socket, '/metrics')).body) };
    }
    return result;
  } finally {
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The same 100 checks every second from one shell: 100 in the background, wait, sleep 1. */
async function shellLoop() {
  const script = `while :; do i=0; while [ $i -lt ${N} ]; do ${TEST} -e /proc/self & i=$((i+1)); done; wait; echo tick; sleep 1; done`;
  const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  started.push({ pid: child.pid, group: true });
  let ticks = 0;
  child.stdout.setEncoding('utf8').on('data', (d) => (ticks += d.split('tick').length - 1));
  await sleep(2000);
  const ticks0 = ticks;
  const c0 = cpu(child.pid);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const c1 = cpu(child.pid);
  const t1 = performance.now();
  const result = { seconds: (t1 - t0) / 1000, self: c1.self - c0.self, children: c1.children - c0.children, checks: (ticks - ticks0) * N };
  process.kill(-child.pid, 'SIGKILL');
  return result;
}

log(`bench/health: ${N} programs, ${SECONDS} s windows, check command: ${TEST} -e /proc/self (${os.cpus().length} CPUs)`);
log('ringmaster, no healthchecks ...');
const idle = await ringmaster(false, true);
log('ringmaster, exec healthcheck every 1 s on each ...');
const checks = await ringmaster(true, true);
log('shell loop ...');
const shell = await shellLoop();

const perK = (cpuSeconds, n) => (n > 0 ? (cpuSeconds * 1000) / (n / 1000) : NaN); // CPU ms per 1000 checks
const rmOverhead = checks.self + checks.children - (idle.self + idle.children);
const rmPerK = perK(rmOverhead, checks.checks);
const shPerK = perK(shell.self + shell.children, shell.checks);
const ratio = rmPerK / shPerK;
const pct = (s, secs) => ((s / secs) * 100).toFixed(1);

const rows = [
  ['ringmaster, no checks', idle, ''],
  ['ringmaster, 100 exec checks/s', checks, ''],
  ['shell loop, 100 checks/s', shell, ''],
];
const out = {
  seconds: SECONDS,
  idle: { ...idle, scrape: undefined }, checks: { ...checks, scrape: undefined }, shell,
  scrape: { noChecks: idle.scrape, withChecks: checks.scrape },
  overheadMsPer1000Checks: { ringmaster: rmPerK, shell: shPerK, ratio },
  targets: { scrapeUnder50ms: idle.scrape.medianMs < 50 && checks.scrape.medianMs < 50, overheadWithin1_5x: ratio <= 1.5 },
};
if (JSON_OUT) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`\n${'run'.padEnd(32)}${'self CPU'.padStart(12)}${'children CPU'.padStart(14)}${'total %CPU'.padStart(12)}${'checks'.padStart(9)}`);
  for (const [name, r] of rows) {
    console.log(`${name.padEnd(32)}${(r.self.toFixed(2) + ' s').padStart(12)}${(r.children.toFixed(2) + ' s').padStart(14)}${(pct(r.self + r.children, r.seconds) + '%').padStart(12)}${String(r.checks).padStart(9)}`);
  }
  console.log(`\ncheck overhead, CPU ms per 1000 checks: ringmaster ${rmPerK.toFixed(0)} (checks - no checks), shell loop ${shPerK.toFixed(0)}: ratio ${ratio.toFixed(2)} (target <= 1.5: ${ratio <= 1.5 ? 'met' : 'MISSED'})`);
  for (const [what, s] of [['no checks', idle.scrape], ['100 checks/s running', checks.scrape]]) {
    console.log(`GET /metrics with ${N} programs, ${what}: first ${s.firstMs.toFixed(1)} ms, median ${s.medianMs.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms, ${s.bytes} bytes (target < 50 ms: ${s.medianMs < 50 ? 'met' : 'MISSED'})`);
  }
}
