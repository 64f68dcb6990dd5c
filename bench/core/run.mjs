#!/usr/bin/env node
// Core figures, ringmaster beside supervisord (Debian's, run the Docker way) measured in the same run:
//   startup            spawn → 100 programs alive (live, non-zombie, in /proc)
//   rss                VmRSS of the supervisor with the 100 alive
//   idle-cpu           utime+stime of the supervisor over 20 s idle with 100 programs
//   shutdown           SIGTERM → supervisor exited and all 100 programs gone
//   stubborn-shutdown  10 TERM-ignoring programs, stopwaitsecs 2: SIGTERM → supervisor exited
// Usage: node bench/core/run.mjs [metric ...] [--runs N] [--idle-seconds S] [--settle-seconds S] [--json]
// Needs `node scripts/build.mjs --no-sea` first, and supervisord (Debian package `supervisor`).
import fs from 'node:fs';
import {
  BUNDLE, CLK_TCK, MarkerWatch, SIDES, busyPct, machineCpu, bundleSnapshot, cleanup, cleanupAllSync, haveSupervisord, markedPids, median, memKb, newMarker,
  now, procStat, programs, threadsSched, sleep, startSupervisor, supervisorGone, tmpDir, until, writeConfigs,
} from './harness.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && Number.isFinite(Number(argv[i + 1])) ? Number(argv[i + 1]) : dflt;
};
const RUNS = opt('--runs', 3);
const IDLE_S = opt('--idle-seconds', 20);
const SETTLE_S = opt('--settle-seconds', 10);
const JSON_OUT = argv.includes('--json');
const ALIASES = { idle: 'idle-cpu', cpu: 'idle-cpu', stubborn: 'stubborn-shutdown' };
const ALL = ['startup', 'rss', 'idle-cpu', 'shutdown', 'stubborn-shutdown'];
const positional = argv.filter((a, i) => !a.startsWith('--') && !['--runs', '--idle-seconds', '--settle-seconds'].includes(argv[i - 1]));
const wanted = new Set(positional.length ? positional.map((a) => ALIASES[a] ?? a) : ALL);
for (const w of wanted) if (!ALL.includes(w)) { console.error(`unknown metric ${w}; one of ${ALL.join(', ')}`); process.exit(2); }

if (!fs.existsSync(BUNDLE)) { console.error(`${BUNDLE} missing: run node scripts/build.mjs --no-sea`); process.exit(2); }
bundleSnapshot();
process.stderr.write(`ringmaster: ${BUNDLE} (built ${fs.statSync(BUNDLE).mtime.toISOString()}), snapshotted for this run\n`);
const sides = haveSupervisord() ? SIDES : ['ringmaster'];
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { cleanupAllSync(); process.exit(130); });
process.on('exit', cleanupAllSync);

const N = 100;
const ALIVE_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const log = (s) => process.stderr.write(s + '\n');

/**
 * One cycle: write configs, spawn, wait for `n` marked programs alive, then `measure(run, marker)`.
 * Always ends with the supervisor group and every marked process killed.
 */
async function cycle(side, { n = N, command = (m) => `sleep 100000.${m}`, stopwaitsecs, measure }) {
  const dir = tmpDir();
  const marker = newMarker();
  writeConfigs(dir, programs(n, command(marker), stopwaitsecs));
  const watch = new MarkerWatch(marker);
  const cpu0 = machineCpu();
  const run = startSupervisor(side, dir);
  run.marker = marker;
  run.watch = watch;
  try {
    let firstAt = null;
    const aliveAt = await until(() => {
      const c = watch.count();
      if (c > 0) firstAt ??= now();
      return c >= n;
    }, { timeoutMs: ALIVE_TIMEOUT_MS, what: `${n} programs alive`, run });
    const res = { startupMs: aliveAt - run.t0, firstMs: firstAt - run.t0, busyPct: busyPct(cpu0, machineCpu()), rssAliveMb: memKb(run.pid).rss / 1024 };
    return Object.assign(res, measure ? await measure(run, marker, aliveAt) : {});
  } finally {
    await cleanup(run, marker);
  }
}

/**
 * SIGTERM once every program is past startsecs (ringmaster: all RUNNING; supervisord moves them to
 * RUNNING on its next 1 s tick, so some may still show STARTING: it stops both states alike).
 * Times supervisor exit and the programs' end.
 */
async function terminate(run, marker, aliveAt, timeoutMs = STOP_TIMEOUT_MS) {
  await sleep(Math.max(0, aliveAt + 1500 - now())); // startsecs 1 elapsed
  const stillAlive = run.watch.count();
  const t = now();
  process.kill(run.pid, 'SIGTERM');
  let goneAt = null;
  try {
    await until(() => {
      if (goneAt === null && run.watch.count() === 0) goneAt = now();
      return supervisorGone(run) && goneAt !== null;
    }, { timeoutMs, what: 'supervisor exited and programs gone', stepMs: 2 });
  } catch (e) {
    const left = markedPids(marker, true).map((p) => `${p}:${procStat(p)?.state}`);
    throw new Error(`${e.message} (supervisor ${run.exitedAt == null ? `still running, state ${procStat(run.pid)?.state}` : 'exited'}; ` +
      `marked processes left: ${left.join(' ') || 'none'}); output tail:\n${run.tail()}`);
  }
  return { exitMs: run.exitedAt - t, goneMs: goneAt - t, bothMs: Math.max(run.exitedAt, goneAt) - t, aliveAtTerm: stillAlive };
}

// --- the measurements --------------------------------------------------------------------------
const results = {}; // metric -> side -> [values]
const details = []; // every cycle's raw figures
const put = (metric, side, v) => ((results[metric] ??= {})[side] ??= []).push(v);
const errors = [];

async function safely(what, side, fn) {
  try {
    const r = await fn();
    details.push({ what, side, ...r });
    return r;
  } catch (e) {
    errors.push(`${what} / ${side}: ${e.message}`);
    log(`! ${what} / ${side}: ${e.message}`);
    return null;
  }
}

const t0 = now();
const mainWanted = ['startup', 'rss', 'shutdown'].some((m) => wanted.has(m));
if (mainWanted) {
  // startup, rss and shutdown come from the same cycles: 100 sleepers, RSS 1.5 s after all are
  // alive (past startsecs), then SIGTERM. Sides alternate so that machine noise hits both.
  for (let i = 0; i < RUNS; i++) {
    for (const side of sides) {
      const r = await safely('startup/rss/shutdown', side, () => cycle(side, {
        measure: async (run, marker, aliveAt) => {
          await sleep(Math.max(0, aliveAt + 1500 - now()));
          const mem = memKb(run.pid);
          const out = { rssMb: mem.rss / 1024, hwmMb: mem.hwm / 1024 };
          return wanted.has('shutdown') ? { ...out, ...(await terminate(run, marker, aliveAt)) } : out;
        },
      }));
      if (!r) continue;
      put('startup', side, r.startupMs);
      put('first-alive', side, r.firstMs);
      put('rss', side, r.rssMb);
      if (r.bothMs != null) put('shutdown', side, r.bothMs);
      log(`run ${i + 1} ${side}: startup ${r.startupMs.toFixed(0)} ms (first program alive at ${r.firstMs.toFixed(0)}; machine ${r.busyPct.toFixed(0)}% busy meanwhile), rss ${r.rssMb.toFixed(1)} MB (at alive ${r.rssAliveMb.toFixed(1)}, peak ${r.hwmMb.toFixed(1)})` +
        (r.bothMs != null ? `, shutdown: exit ${r.exitMs.toFixed(0)} ms, programs gone ${r.goneMs.toFixed(0)} ms` : ''));
    }
  }
}

if (wanted.has('idle-cpu')) {
  for (const side of sides) {
    const r = await safely('idle-cpu', side, () => cycle(side, {
      measure: async (run, marker, aliveAt) => {
        // Idle means after start-up has settled: the STARTING → RUNNING transitions (supervisord
        // does them on a 1 s tick, up to ~2 s after the spawn), and V8's memory-reducing GCs, which
        // come ~8 s after start in ringmaster (~20 ms once). The settling's own CPU, from all
        // alive to the idle window, is reported beside.
        const s0 = threadsSched(run.pid);
        await sleep(Math.max(0, aliveAt + SETTLE_S * 1000 - now()));
        const a = procStat(run.pid).cpuTicks;
        const sa = threadsSched(run.pid);
        const settleMs = (sa.ns - s0.ns) / 1e6;
        const settleWallMs = now() - aliveAt;
        const ta = now();
        await sleep(IDLE_S * 1000);
        const ticks = procStat(run.pid).cpuTicks - a;
        const sb = threadsSched(run.pid);
        const wall = now() - ta;
        return {
          cpuMs: (ticks * 1000) / CLK_TCK, wallMs: wall, schedMs: (sb.ns - sa.ns) / 1e6, settleMs, settleWallMs,
          wakeups: sb.switches - sa.switches, threads: sb.threads, rssAfterIdleMb: memKb(run.pid).rss / 1024,
        };
      },
    }));
    if (!r) continue;
    put('idle-cpu', side, r.cpuMs);
    put('idle-sched', side, r.schedMs);
    put('idle-settle', side, r.settleMs);
    put('rss-idle', side, r.rssAfterIdleMb);
    put('idle-wakeups', side, r.wakeups);
    log(`idle ${side}: schedstat ${r.schedMs.toFixed(1)} ms, ${r.wakeups} context switches over ${r.threads} threads; utime+stime ${r.cpuMs.toFixed(0)} ms CPU over ${(r.wallMs / 1000).toFixed(1)} s (${((100 * r.cpuMs) / r.wallMs).toFixed(3)}% of a core); rss ${r.rssAfterIdleMb.toFixed(1)} MB at the end; ` +
      `settling before the window (all alive → window start, ${(r.settleWallMs / 1000).toFixed(1)} s): ${r.settleMs.toFixed(1)} ms`);
  }
}

if (wanted.has('stubborn-shutdown')) {
  for (let i = 0; i < RUNS; i++) {
    for (const side of sides) {
      const r = await safely('stubborn-shutdown', side, () => cycle(side, {
        n: 10,
        stopwaitsecs: 2,
        command: (m) => `sh -c "trap '' TERM; while :; do sleep 0.1; done; : ${m}"`,
        // supervisord stops its groups one after the other (each program is a group): ~2 s each.
        measure: (run, marker, aliveAt) => terminate(run, marker, aliveAt, 35_000),
      }));
      if (!r) continue;
      put('stubborn-shutdown', side, r.exitMs);
      log(`stubborn run ${i + 1} ${side}: exit ${r.exitMs.toFixed(0)} ms, programs gone ${r.goneMs.toFixed(0)} ms`);
    }
  }
}
const totalS = (now() - t0) / 1000;

// --- the table ---------------------------------------------------------------------------------
const pct = (ms) => `${((100 * ms) / (IDLE_S * 1000)).toFixed(2)}%`;
const info = { goal: '(info)', met: () => null };
const META = {
  'first-alive': { ...info, label: '  spawn → first program alive (ms)', fmt: (x) => x.toFixed(0) },
  'idle-settle': { ...info, label: `  CPU before that window: all alive → +${SETTLE_S} s (ms)`, fmt: (x) => x.toFixed(1) },
  startup: { label: 'startup: spawn → 100 alive (ms)', fmt: (x, m, side) => `${x.toFixed(0)}${side === 'ringmaster' && median(results.startup?.supervisord ?? []) ? ` (${(x / median(results.startup.supervisord)).toFixed(2)}×)` : ''}`, goal: '≤ 0.15× supervisord', met: (r, s) => (s == null ? null : r <= s * 0.15) },
  rss: { label: 'rss with 100 programs, 1.5 s after all alive (MB)', fmt: (x) => x.toFixed(1), goal: '≤ supervisord', met: (r, s) => (s == null ? null : r <= s) },
  'rss-idle': { label: `rss after ${SETTLE_S} + ${IDLE_S} s idle (MB)`, fmt: (x) => x.toFixed(1), goal: '≤ supervisord', met: (r, s) => (s == null ? null : r <= s) },
  'idle-wakeups': { ...info, label: `  context switches in that window, all threads`, fmt: (x) => x.toFixed(0) },
  'idle-cpu': { label: `idle-cpu over ${IDLE_S} s, 100 programs`, fmt: (x, m, side) => `${x.toFixed(0)} ms (${pct(x)}) [sched ${median(results['idle-sched']?.[side] ?? [])?.toFixed(1)}]`, goal: '≤ supervisord', met: (r, s) => (s == null ? null : r <= s) },
  shutdown: { label: 'shutdown: SIGTERM → exited + 100 gone (ms)', fmt: (x) => x.toFixed(0), goal: '< 500 ms', met: (r) => r < 500 },
  'stubborn-shutdown': { label: 'stubborn-shutdown: 10 TERM-ignoring, stopwait 2s (ms)', fmt: (x) => x.toFixed(0), goal: '≤ 2300 ms', met: (r) => r <= 2300 },
};
const rows = [];
const summary = {};
const SHOWN = { startup: ['startup', 'first-alive'], 'idle-cpu': ['idle-cpu', 'idle-settle', 'idle-wakeups', 'rss-idle'] };
for (const m of ALL.flatMap((x) => (wanted.has(x) ? SHOWN[x] ?? [x] : []))) {
  const rm = median(results[m]?.ringmaster ?? []);
  const sv = median(results[m]?.supervisord ?? []);
  const met = rm == null ? null : META[m].met(rm, sv);
  summary[m] = { ringmaster: rm, supervisord: sv, runs: results[m] ?? {}, target: META[m].goal, met };
  const verdict = META[m] === undefined || META[m].goal === '(info)' ? '' : met == null ? '?' : met ? 'yes' : 'NO';
  rows.push([META[m].label, rm == null ? 'failed' : META[m].fmt(rm, m, 'ringmaster'), sv == null ? 'n/a' : META[m].fmt(sv, m, 'supervisord'), META[m].goal, verdict]);
}
const judged = Object.keys(summary).filter((m) => META[m].goal !== '(info)');
const missed = judged.filter((m) => summary[m].met === false).map((m) => `${m}: ringmaster ${META[m].fmt(summary[m].ringmaster, m, 'ringmaster')}` +
  `${summary[m].supervisord == null ? '' : `, supervisord ${META[m].fmt(summary[m].supervisord, m, 'supervisord')}`}, target ${META[m].goal}`);
const unknown = judged.filter((m) => summary[m].met == null);
const oneLine = `summary: ${judged.length - missed.length - unknown.length}/${judged.length} targets met` +
  (missed.length ? `; missed: ${missed.join('; ')}` : '') + (unknown.length ? `; not judged: ${unknown.join(', ')}` : '');

if (JSON_OUT) {
  console.log(JSON.stringify({ oneLine, runs: RUNS, idleSeconds: IDLE_S, settleSeconds: SETTLE_S, totalSeconds: totalS, summary, details, errors }, null, 2));
} else {
  const head = ['metric', 'ringmaster', 'supervisord', 'target', 'met?'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  if (wanted.has('idle-cpu')) console.log(`idle-cpu: utime+stime in ${1000 / CLK_TCK} ms ticks; [sched] = ms summed from the threads' schedstat (ns), the finer figure`);
  console.log(`medians of ${RUNS} runs per side (idle-cpu: 1 run); bench took ${totalS.toFixed(0)} s` +
    (sides.length === 1 ? '; supervisord not installed (apt-get install supervisor)' : ''));
  if (errors.length) console.log(`errors:\n  ${errors.join('\n  ')}`);
  console.log(oneLine);
}
process.exitCode = errors.length ? 1 : 0;
