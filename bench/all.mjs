#!/usr/bin/env node
// `npm run bench`: every row of issue #17's table in one run, ringmaster beside supervisord (and
// sed and concurrently for the output row): bench/core for memory, idle and start-up, bench/logs
// for output. Runs the single executable when it is built and current, else the bundle
// (RINGMASTER_BUNDLE=path chooses). Takes ~4 minutes. Figures are only comparable within a run,
// on a quiet machine: the load average is printed with them.
//   node bench/all.mjs [--runs N] [--mib M] [--logs-runs N]   (the output rows: medians of N runs, ~2.5 min each)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const sea = path.join(ROOT, 'dist', 'ringmaster');
const bundle = path.join(ROOT, 'dist', 'ringmaster.cjs');
if (!existsSync(bundle)) {
  console.error('dist/ringmaster.cjs is missing: npm run build');
  process.exit(2);
}
const target = process.env.RINGMASTER_BUNDLE
  ?? (existsSync(sea) && statSync(sea).mtimeMs >= statSync(bundle).mtimeMs ? sea : bundle);
const env = { ...process.env, RINGMASTER_BUNDLE: target };
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

function runJson(script, extra) {
  process.stderr.write(`bench: node ${script} ${extra.join(' ')} (load ${load()})\n`);
  const r = spawnSync(process.execPath, [path.join(ROOT, script), ...extra, '--json'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const start = r.stdout.indexOf('{');
  if (start < 0) throw new Error(`${script} printed no JSON (exit ${r.status})`);
  return JSON.parse(r.stdout.slice(start));
}

const loadBefore = load();
// Idle is measured once start-up has settled, the memory trimmer's two passes included (~15 s).
const core = runJson('bench/core/run.mjs', ['startup', 'rss', 'idle-cpu', '--runs', opt('--runs', '3'), '--settle-seconds', '20']);
const logs = runJson('bench/logs/run.mjs', ['--mib', opt('--mib', '50'), '--runs', opt('--logs-runs', '1')]);

const c = (m, side) => core.summary[m]?.[side];
const fmt = (x, d = 1) => (x == null ? 'n/a' : x.toFixed(d));
const rows = [];
const row = (what, sv, rm, goal, met) => rows.push([what, sv, rm, goal, met == null ? '?' : met ? 'yes' : 'NO']);

const rssR = c('rss-idle', 'ringmaster');
const rssS = c('rss-idle', 'supervisord');
row(`RSS after ${core.settleSeconds + core.idleSeconds} s idle, 100 sleeps (MB)`, fmt(rssS), fmt(rssR), '≤ supervisord', rssS == null ? null : rssR <= rssS);
const cpuR = c('idle-cpu', 'ringmaster');
const cpuS = c('idle-cpu', 'supervisord');
const wake = (side) => fmt(c('idle-wakeups', side), 0);
row(`idle CPU over ${core.idleSeconds} s (ms; context switches)`, `${fmt(cpuS, 0)}; ${wake('supervisord')}`, `${fmt(cpuR, 0)}; ${wake('ringmaster')}`, '≤ supervisord; no wake-up without work', cpuS == null ? null : cpuR <= cpuS);
const upR = c('startup', 'ringmaster');
const upS = c('startup', 'supervisord');
row('all 100 alive after start (ms)', fmt(upS, 0), `${fmt(upR, 0)}${upS ? ` (${(upR / upS).toFixed(2)}×)` : ''}`, '≤ 0.15× supervisord', upS == null ? null : upR <= 0.15 * upS);
for (const [mode, rowsOfMode] of Object.entries(logs.results)) {
  const by = (n) => rowsOfMode.find((r) => r.name === n);
  const rm = by('ringmaster');
  const seds = by('sed x4 (parallel)');
  const conc = by('concurrently');
  const sv = by('supervisord');
  const gib = (logs.programs * logs.mibPerProgram) / 1024;
  const vsSeds = seds?.mibs ? rm.mibs / seds.mibs : null;
  const vsConc = conc?.mibs ? rm.mibs / conc.mibs : null;
  row(`logs ${logs.programs} × ${logs.mibPerProgram} MiB, ${mode} (MiB/s)`,
    sv ? `${fmt(sv.mibs, 0)}, ${sv.lost} lost, ${sv.mixed} mixed` : 'n/a',
    `${fmt(rm.mibs, 0)} = ${fmt(vsSeds, 2)}× 4 seds, ${fmt(vsConc, 2)}× concurrently; ${rm.lost} lost, ${rm.mixed} mixed; ${rm.cpu == null ? '?' : (rm.cpu / gib).toFixed(2)} CPU s/GiB`,
    '≥ 1.0× seds, ≥ 1.5× concurrently, 0 lost, 0 mixed',
    vsSeds == null || vsConc == null ? null : vsSeds >= 1 && vsConc >= 1.5 && rm.lost === 0 && rm.mixed === 0);
}

const head = ['row', 'supervisord', `ringmaster (${path.relative(ROOT, target)})`, 'goal', 'met?'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
console.log(`${os.cpus().length} CPUs; load ${loadBefore} before, ${load()} after; node ${process.version}; medians of ${core.runs} runs (idle: 1; logs: ${logs.runs})`);
console.log(line(head));
console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (core.errors?.length) console.log(`errors: ${core.errors.map((e) => e.split('\n')[0]).join('; ')}`);
