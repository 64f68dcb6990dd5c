// bench/schedules: how close to its time a scheduled job starts, beside busybox crond, and what
// ringmaster costs while nothing is due and nothing changes (50 scheduled jobs, 50 watched paths).
//
//   npm run build:bundle && node bench/schedules/run.mjs [--seconds 600] [--idle-seconds 60]
//
// Accuracy: every job runs `date +%s%N` (its own start time, so the delay includes fork and exec)
// and the delay past the boundary it was due at is measured:
//   - ringmaster `* * * * * *`: every second, past the second boundary, by the job's clock and by
//     ringmaster's own `spawned:` line (log_timestamps: the due time to the return of spawn);
//   - the floor: this script's own timer to each second boundary spawning the same `date`;
//   - ringmaster `0 * * * * *` and busybox crond `* * * * *`: every minute, past the minute
//     boundary (busybox crond has minute resolution: this row is the comparable one).
// Idle: ringmaster with 50 `sleep` programs, first plain, then each with a schedule that is not
// due (`0 3 1 1 *`) and a watch on its own file: CPU (utime+stime) and wake-ups
// (voluntary_ctxt_switches of /proc/PID/status: every thread's, and the event loop's own) over the
// same window.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 600);
const IDLE_SECONDS = arg('idle-seconds', 60);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = [];

function tmp(prefix) {
  const d = fs.mkdtempSync(path.join(tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Spawned in its own process group, killed by that group at the end. */
function run(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  started.push(child);
  child.out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (child.out += d));
  child.stderr.resume();
  return child;
}

function stopAll() {
  for (const c of started.splice(0)) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

function stats(delaysMs) {
  const v = [...delaysMs].sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, median: NaN, p99: NaN, worst: NaN };
  return { n: v.length, median: v[Math.floor(v.length / 2)], p99: v[Math.min(v.length - 1, Math.floor(v.length * 0.99))], worst: v[v.length - 1] };
}

/** Delays (ms) past the `periodMs` boundary of every `NAME | <ns>` (or bare `<ns>`) line. */
function delays(text, re, periodMs) {
  const out = [];
  for (const m of text.matchAll(re)) {
    const ns = BigInt(m[1]);
    out.push(Number(ns % BigInt(periodMs * 1e6)) / 1e6);
  }
  return out;
}

async function accuracy() {
  const dir = tmp('rm-bench-sched-');
  const cfg = path.join(dir, 'r.yaml');
  fs.writeFileSync(cfg, [
    `settings: {socket: ${path.join(dir, 'rm.sock')}, log_timestamps: true}`,
    'programs:',
    '  sec: {command: "date +%s%N", schedule: "* * * * * *"}',
    '  min: {command: "date +%s%N", schedule: "0 * * * * *"}',
    '',
  ].join('\n'));
  const rm = run(process.execPath, [BUNDLE, '-c', cfg]);

  const cronDir = tmp('rm-bench-crond-');
  const outFile = path.join(cronDir, 'out');
  fs.writeFileSync(path.join(cronDir, 'root'), `* * * * * date +\\%s\\%N >> ${outFile}\n`);
  const crond = run('/bin/busybox', ['crond', '-f', '-c', cronDir, '-L', '/dev/null']);

  process.stderr.write(`measuring for ${SECONDS}s (ringmaster pid ${rm.pid}, busybox crond pid ${crond.pid})\n`);
  // The floor on this machine now: a bare Node timer to each second boundary, spawning the same `date`.
  const floor = [];
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    await sleep(1000 - (Date.now() % 1000));
    const c = spawn('date', ['+%s%N'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let o = '';
    c.stdout.setEncoding('utf8').on('data', (d) => (o += d));
    c.on('close', () => floor.push(o.trim()));
  }
  await sleep(1000);
  const crondText = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '';
  stopAll();
  const spawned = [...rm.out.matchAll(/^\S+T\d\d:\d\d:\d\d\.(\d{3})Z ringmaster \| spawned: sec /gm)].map((m) => Number(m[1]));
  return {
    spawned: stats(spawned),
    floor: stats(delays(floor.join('\n'), /^(\d{19})$/gm, 1000)),
    second: stats(delays(rm.out, /^\S+ sec\s+\| (\d{19})$/gm, 1000)),
    minute: stats(delays(rm.out, /^\S+ min\s+\| (\d{19})$/gm, 60_000)),
    crond: stats(delays(crondText, /^(\d{19})$/gm, 60_000)),
  };
}

function threadsStatus(pid) {
  let cpu = 0;
  let voluntary = 0;
  let main = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu += Number(f[11]) + Number(f[12]);
    const v = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1'))[1]);
    voluntary += v;
    if (Number(tid) === pid) main = v;
  }
  return { cpuMs: (cpu * 1000) / CLK_TCK, voluntary, main };
}

async function idle(withJobs) {
  const dir = tmp('rm-bench-idle-');
  const lines = [`settings: {socket: ${path.join(dir, 'rm.sock')}}`, 'programs:'];
  for (let i = 0; i < 50; i++) {
    const watched = path.join(dir, `w${i}.conf`);
    fs.writeFileSync(watched, 'x\n');
    lines.push(`  p${i}: {command: "sleep 100000", startsecs: 0${withJobs ? `, watch: {paths: [${watched}], action: restart}` : ''}}`);
    if (withJobs) lines.push(`  j${i}: {command: "true", schedule: "0 3 1 1 *"}`);
  }
  fs.writeFileSync(path.join(dir, 'r.yaml'), lines.join('\n') + '\n');
  const rm = run(process.execPath, [BUNDLE, '-c', path.join(dir, 'r.yaml')]);
  for (let i = 0; i < 200 && (rm.out.match(/entered RUNNING/g) ?? []).length < 50; i++) await sleep(100);
  await sleep(15_000); // start-up work is over (startsecs timers, the memory trimmer's pass and its follow-up 10 s later)
  const a = threadsStatus(rm.pid);
  await sleep(IDLE_SECONDS * 1000);
  const b = threadsStatus(rm.pid);
  stopAll();
  return {
    cpuMsPerMin: ((b.cpuMs - a.cpuMs) * 60) / IDLE_SECONDS,
    wakeupsPerMin: ((b.voluntary - a.voluntary) * 60) / IDLE_SECONDS,
    loopWakeupsPerMin: ((b.main - a.main) * 60) / IDLE_SECONDS,
  };
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const row = (name, s) => console.log(`${name.padEnd(52)} ${String(s.n).padStart(5)} ${fmt(s.median).padStart(9)} ${fmt(s.p99).padStart(9)} ${fmt(s.worst).padStart(9)}`);

const acc = SECONDS > 0 ? await accuracy() : null;
if (acc) {
console.log(`schedule accuracy over ${SECONDS}s: start delay past the due boundary, ms (the job's own clock; fork+exec included)`);
console.log(`${'job'.padEnd(52)} ${'runs'.padStart(5)} ${'median'.padStart(9)} ${'p99'.padStart(9)} ${'worst'.padStart(9)}`);
row('ringmaster  * * * * * *  spawn returned (its log)', acc.spawned);
row('ringmaster  * * * * * *  (every second)', acc.second);
row('floor: a Node timer + spawn of date, per second', acc.floor);
row('ringmaster  0 * * * * *  (every minute)', acc.minute);
row('busybox crond  * * * * *  (every minute)', acc.crond);
console.log(`goal: worst <= 100 ms from the due time to the spawn: ${acc.spawned.worst <= 100 ? 'met' : 'NOT met'}; the job's own clock adds exec, as the floor row shows`);
}

const plain = await idle(false);
const jobs = await idle(true);
console.log(`\nidle over ${IDLE_SECONDS}s, nothing due and nothing changing`);
console.log(`${'ringmaster with'.padEnd(52)} ${'cpu ms/min'.padStart(11)} ${'wake-ups/min'.padStart(13)} ${'of its loop'.padStart(12)}`);
for (const [name, r] of [['50 programs (baseline)', plain], ['+ 50 scheduled jobs + 50 watched paths', jobs]]) {
  console.log(`${name.padEnd(52)} ${fmt(r.cpuMsPerMin).padStart(11)} ${fmt(r.wakeupsPerMin).padStart(13)} ${fmt(r.loopWakeupsPerMin).padStart(12)}`);
}
