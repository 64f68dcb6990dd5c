#!/usr/bin/env node
// memory_limit's cost (SPEC §10), ringmaster beside itself in the same run:
//   baseline   ringmaster's CPU over the window with 100 idle programs and no memory_limit
//   limited    the same 100 programs, each with `memory_limit: 1GB` (never reached): one pass
//              over /proc every 5 s summing each program's process group
// CPU is utime+stime of ringmaster from /proc/PID/stat over the window. The cost of the checks is
// (limited - baseline), in % of one core and per pass. Target: under 1% of one core.
// With --pid1 ringmaster runs as PID 1 of its own PID namespace (unshare, as root), so /proc holds
// only its own processes, as in a container; without it each pass reads every process of the machine.
// Usage: node bench/memory/run.mjs [--seconds 30] [--pid1] [--json]     (build first: npm run build:bundle)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');
const argv = process.argv.slice(2);
const i = argv.indexOf('--seconds');
const SECONDS = i >= 0 && Number(argv[i + 1]) > 0 ? Number(argv[i + 1]) : 30;
const JSON_OUT = argv.includes('--json');
const PID1 = argv.includes('--pid1');
const N = 100;
const CLK_TCK = 100; // Linux USER_HZ
const INTERVAL_S = 5; // src/health/memory-watch.ts CHECK_INTERVAL_MS
const log = (s) => process.stderr.write(s + '\n');

if (!fs.existsSync(BUNDLE)) {
  console.error(`${BUNDLE} missing: run npm run build:bundle`);
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = new Set();
process.on('exit', () => {
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Processes a pass reads: those in ringmaster's /proc (its namespace's with --pid1). */
function processCount(pid) {
  return fs.readdirSync(`/proc/${pid}/root/proc`).filter((e) => /^\d+$/.test(e)).length;
}

/** unshare's child: ringmaster itself. */
async function childOf(pid) {
  for (const until = Date.now() + 10_000; Date.now() < until; await sleep(20)) {
    const c = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (c) return Number(c.split(' ')[0]);
  }
  throw new Error('ringmaster did not start under unshare');
}

/** ringmaster with N sleeping programs (with or without a limit): its CPU over the window. */
async function measure(limit) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-bench-mem-'));
  const programs = Array.from({ length: N }, (_, k) => `  p${k}: {command: ["sleep", "100000"], startsecs: 0${limit ? ', memory_limit: 1GB' : ''}}`);
  fs.writeFileSync(path.join(dir, 'r.yaml'), `settings: {socket: ${dir}/rm.sock}\nprograms:\n${programs.join('\n')}\n`);
  const cmd = [...(PID1 ? ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc'] : []), process.execPath, BUNDLE, '-c', path.join(dir, 'r.yaml')];
  const child = spawn(cmd[0], cmd.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(child.pid);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const until = Date.now() + 60_000;
  while ((out.match(/entered RUNNING/g) ?? []).length < N) {
    if (Date.now() > until) throw new Error('the programs did not all start within 60 s');
    await sleep(100);
  }
  await sleep(5000); // the start's own work and V8's first collections settle
  const rm = PID1 ? await childOf(child.pid) : child.pid;
  const t0 = cpuSeconds(rm);
  const w0 = Date.now();
  await sleep(SECONDS * 1000);
  const cpu = cpuSeconds(rm) - t0;
  const wall = (Date.now() - w0) / 1000;
  const procs = PID1 ? processCount(rm) : processCount(process.pid);
  process.kill(-child.pid, 'SIGTERM');
  await new Promise((r) => child.on('close', r));
  started.delete(child.pid);
  fs.rmSync(dir, { recursive: true, force: true });
  return { cpu, wall, procs };
}

log(`100 programs, ${SECONDS} s windows${PID1 ? ', ringmaster as PID 1 of its own namespace' : ''}, machine: ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`);
const base = await measure(false);
const limited = await measure(true);
const pct = (r) => (r.cpu / r.wall) * 100;
const cost = pct(limited) - pct(base);
const passes = limited.wall / INTERVAL_S;
const perPass = ((limited.cpu - base.cpu * (limited.wall / base.wall)) / passes) * 1000;
const result = {
  programs: N,
  seconds: SECONDS,
  processesOnMachine: limited.procs,
  baselinePercentOfCore: +pct(base).toFixed(3),
  limitedPercentOfCore: +pct(limited).toFixed(3),
  checkCostPercentOfCore: +cost.toFixed(3),
  msPerPass: +perPass.toFixed(2),
  targetMet: cost < 1,
};
if (JSON_OUT) console.log(JSON.stringify(result));
else {
  console.log(`ringmaster, 100 idle programs, no memory_limit (baseline): ${result.baselinePercentOfCore}% of one core`);
  console.log(`ringmaster, 100 programs with memory_limit:                ${result.limitedPercentOfCore}% of one core`);
  console.log(`memory checks: ${result.checkCostPercentOfCore}% of one core, ~${result.msPerPass} ms per pass every ${INTERVAL_S} s (${result.processesOnMachine} processes in ${PID1 ? 'its namespace\'s' : 'the machine\'s'} /proc)`);
  console.log(`target (< 1% of one core): ${result.targetMet ? 'met' : 'NOT met'}`);
}
