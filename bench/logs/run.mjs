#!/usr/bin/env node
// Output throughput and line integrity (issues #4, #17). Four programs each print --mib MiB of
// 100-byte lines, once as big chunks (`dd bs=64k`: 64 KiB writes) and once as one write() per
// line (a Python loop of os.write), then lines of mixed lengths (21-401 bytes, one in 97 of 2001)
// in 4 KiB writes that cut lines anywhere, as a program's stdio buffer does; each contender multiplexes them onto one stdout, a pipe into
// counter.mjs, which checks every line without storing it. Same run, same data, one after the
// other: ringmaster, supervisord (stdout_logfile=/dev/stdout), concurrently (npm) and
// `sed 's/^/[x] /'` over the four outputs, plus the producers straight into the counter (what the
// counter itself can take). See README.md.
//   node bench/logs/run.mjs [--mib 50] [--runs 3] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { programData } from './lines.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const HERE = import.meta.dirname;
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const MIB = opt('--mib', 50);
const RUNS = opt('--runs', 3);
const JSON_OUT = args.includes('--json');
const PROGRAMS = 4;
const LINE = 100;
const LINES = Math.floor((MIB * 1024 * 1024) / LINE);
const TOTAL_MIB = (PROGRAMS * LINES * LINE) / 1048576;
const RUN_TIMEOUT_MS = 90_000;
const BUNDLE = path.resolve(process.env.RINGMASTER_BUNDLE || path.join(ROOT, 'dist', 'ringmaster.cjs'));
const CONCURRENTLY = path.join(ROOT, 'node_modules', '.bin', 'concurrently');
if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: npm run build:bundle`);

const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
// The real interpreter, not a pyenv shim (a shim is a bash script: its start-up would be counted).
const PY = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
if (!PY) throw new Error('python3 is needed (per-line producer, CPU wrapper)');

const dir = mkdtempSync(path.join(tmpdir(), 'rm-bench-logs-'));
const cleanup = () => rmSync(dir, { recursive: true, force: true });
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// Line i of program p: "p<p> <i, 8 digits> yyy…\n", 100 bytes (lines.mjs); for the mixed mode
// 21-401 bytes, and 2001 for one line in 97.
const files = Array.from({ length: PROGRAMS }, (_, p) => {
  const file = path.join(dir, `data${p}`);
  writeFileSync(file, programData(p, LINES * LINE, false).buf);
  return file;
});
const mixedLines = programData(0, LINES * LINE, true).lines;
const mixedFiles = Array.from({ length: PROGRAMS }, (_, p) => {
  const file = path.join(dir, `mixed${p}`);
  writeFileSync(file, programData(p, LINES * LINE, true).buf);
  return file;
});
const perLine = path.join(dir, 'perline.py');
writeFileSync(perLine, 'import os, sys\nw = os.write\nfor line in open(sys.argv[1], "rb"):\n    w(1, line)\n');

const MODES = {
  chunks: { title: 'big chunks: 64 KiB writes (dd bs=64k)', lines: LINES, producer: (p) => ['dd', `if=${files[p]}`, 'bs=64k', 'status=none'] },
  'per-line': { title: 'one write() per 100-byte line (python os.write)', lines: LINES, producer: (p) => [PY, perLine, files[p]] },
  // What most programs do on a pipe: stdio's 4 KiB buffer, written when full, cutting lines anywhere.
  mixed: { title: 'lines of 21-401 bytes (1 in 97: 2001) in 4 KiB writes (dd bs=4k, as a stdio buffer)', lines: mixedLines, mixed: true, producer: (p) => ['dd', `if=${mixedFiles[p]}`, 'bs=4k', 'status=none'] },
};

/** For each contender: the shell pipeline up to (not including) the counter, the prefix the
 * counter expects before program {p}'s lines, and a regex for the contender's own lines. The
 * measured process runs under cpuwrap.py, which reports its own CPU seconds (not its children's). */
function contenders(mode) {
  const prod = (p) => MODES[mode].producer(p);
  // Plain words (the temp paths have no specials): concurrently strips quotes around a command.
  const shProd = (p) => prod(p).join(' ');
  const wrap = (name, argv) => [PY, path.join(HERE, 'cpuwrap.py'), path.join(dir, `${name}.cpu`), ...argv].map(sq).join(' ');
  const list = [];

  const yaml = path.join(dir, `ringmaster-${mode}.yaml`);
  writeFileSync(yaml, `settings: {exit_policy: all}\nprograms:\n${files.map((_, p) => `  p${p}: {command: ${JSON.stringify(prod(p))}, startsecs: 0, autorestart: false}`).join('\n')}\n`);
  list.push({ name: 'ringmaster', pipeline: wrap('ringmaster', [...(/\.c?js$/.test(BUNDLE) ? [process.execPath] : []), BUNDLE, '-c', yaml]), prefix: 'p{p} | ', own: '^ringmaster \\| ' });

  if (have('supervisord')) {
    const ini = path.join(dir, `supervisord-${mode}.conf`);
    writeFileSync(ini, [
      '[supervisord]', 'nodaemon=true', 'logfile=/dev/null', `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, 'loglevel=error',
      ...files.flatMap((_, p) => [`[program:p${p}]`, `command=${prod(p).join(' ')}`, 'startsecs=0', 'autorestart=false', 'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0']),
    ].join('\n') + '\n');
    // Its stdout must be a real pipe (a socketpair makes open("/dev/stdout") fail with ENXIO): it is, `| node counter`.
    list.push({ name: 'supervisord', pipeline: wrap('supervisord', ['supervisord', '-n', '-c', ini]), prefix: '', own: '^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d+ [A-Z]+ ', untilComplete: true });
  }

  if (existsSync(CONCURRENTLY)) {
    list.push({ name: 'concurrently', pipeline: wrap('concurrently', [CONCURRENTLY, ...files.map((_, p) => shProd(p))]), prefix: '[{p}] ', own: '^\\[\\d+\\] .* exited with code ' });
  }

  // One sed over the four outputs one after the other (several seds writing one pipe mix lines).
  list.push({ name: 'sed', pipeline: `(${files.map((_, p) => shProd(p)).join('; ')}) | ${wrap('sed', ['sed', 's/^/[x] /'])}`, prefix: '[x] ' });
  // Four independent seds at once into the one pipe (issue #17's baseline): as fast as the machine
  // allows, but not line-safe (sed's 4 KiB writes cut lines, which then mix); own CPU not measured.
  list.push({ name: 'sed x4 (parallel)', pipeline: `${files.map((_, p) => `${shProd(p)} | sed 's/^/[x] /' &`).join(' ')} wait`, prefix: '[x] ' });
  // No multiplexer at all: the ceiling of the producers + counter on this machine.
  list.push({ name: '(producers→counter)', pipeline: `${files.map((_, p) => shProd(p)).join('; ')}`, prefix: '', reference: true });
  return list;
}

function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    /* gone */
  }
}

function measure(c, mode) {
  const lines = MODES[mode].lines;
  const cpuFile = path.join(dir, `${c.name}.cpu`);
  rmSync(cpuFile, { force: true });
  rmSync(`${cpuFile}.pid`, { force: true });
  const counter = [process.execPath, path.join(HERE, 'counter.mjs'), PROGRAMS, lines, c.prefix, c.own ?? ''].map(sq).join(' ');
  const script = `{ ${c.pipeline}; } | ${counter}${c.untilComplete ? ' --until-complete' : ''}${MODES[mode].mixed ? ' --mixed' : ''}`;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    let stopper;
    child.stdout.on('data', (d) => {
      out += d;
      // supervisord keeps running once its programs ended: the counter's verdict ends its run.
      if (c.untilComplete && out.includes('\n') && !stopper) {
        const pid = Number(readFileSync(`${cpuFile}.pid`, 'utf8'));
        if (pid > 0) try { process.kill(pid, 'SIGTERM'); } catch {}
        stopper = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 10_000);
      }
    });
    const killer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      clearTimeout(stopper);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      let v;
      try {
        v = JSON.parse(out.split('\n')[0]);
      } catch {
        v = { bytes: 0, whole: 0, wholeBytes: 0, lost: PROGRAMS * lines, mixed: -1, seconds: wall };
      }
      const cpu = existsSync(cpuFile) ? Number(readFileSync(cpuFile, 'utf8')) : null;
      resolve({ name: c.name, reference: !!c.reference, wall, cpu, // Throughput of what arrived whole (a contender that drops lines is not faster for it).
        mibs: v.seconds > 0 ? v.wholeBytes / 1048576 / v.seconds : 0, exit: signal ?? code, ...v });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
if (!JSON_OUT) console.log(`${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; node ${process.version}; ${PROGRAMS} programs x ${(LINES * LINE / 1048576).toFixed(0)} MiB of ${LINE}-byte lines = ${TOTAL_MIB.toFixed(0)} MiB (${PROGRAMS * LINES} lines; mixed mode: ${PROGRAMS * mixedLines} lines of 21-2001 bytes) per contender and mode; ${RUNS} run(s), median shown\n`);
for (const mode of Object.keys(MODES)) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) for (const c of contenders(mode)) runs.push(await measure(c, mode));
  const names = [...new Set(runs.map((r) => r.name))];
  const rows = names.map((name) => {
    const mine = runs.filter((r) => r.name === name);
    const m = mine.find((r) => r.mibs === median(mine.map((x) => x.mibs)));
    return { ...m, worstLost: Math.max(...mine.map((r) => r.lost)), worstMixed: Math.max(...mine.map((r) => r.mixed)), allMibs: mine.map((r) => Math.round(r.mibs)) };
  });
  results[mode] = rows;
  if (JSON_OUT) continue;
  const by = (n) => rows.find((r) => r.name === n);
  const ratio = (r, o) => (o ? `${(r.mibs / o.mibs).toFixed(2)}x` : '-');
  console.log(`mode: ${MODES[mode].title}`);
  console.log('| contender | MiB/s | wall s | own CPU s | CPU s per GiB | whole lines | lost | mixed | vs sed | vs sed x4 | vs concurrently |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    const perGib = r.cpu === null ? '-' : (r.cpu / (TOTAL_MIB / 1024)).toFixed(2);
    console.log(`| ${r.name} | ${r.mibs.toFixed(0)} | ${r.wall.toFixed(1)} | ${r.cpu === null ? '-' : r.cpu.toFixed(2)} | ${perGib} | ${r.whole} | ${r.lost} | ${r.mixed} | ${ratio(r, by('sed'))} | ${ratio(r, by('sed x4 (parallel)'))} | ${ratio(r, by('concurrently'))} |`);
  }
  const rm = by('ringmaster');
  const checks = [
    [`0 lost (all runs)`, rm.worstLost === 0],
    [`0 mixed (all runs)`, rm.worstMixed === 0],
    [`≥ 0.7x sed (${ratio(rm, by('sed'))})`, by('sed') ? rm.mibs >= 0.7 * by('sed').mibs : null],
    [`≥ 1.5x concurrently (${ratio(rm, by('concurrently'))})`, by('concurrently') ? rm.mibs >= 1.5 * by('concurrently').mibs : null],
  ];
  console.log(`MiB/s of each run: ${rows.map((r) => `${r.name} ${r.allMibs.join('/')}`).join(', ')}`);
  console.log(`ringmaster targets: ${checks.map(([t, ok]) => `${t} ${ok === null ? 'n/a' : ok ? 'MET' : 'MISSED'}`).join('; ')}`);
  for (const r of rows) if (r.mixed > 0 && r.firstMixed) console.log(`  first mixed line of ${r.name}: ${JSON.stringify(r.firstMixed.slice(0, 100))}`);
  console.log('');
}
if (JSON_OUT) console.log(JSON.stringify({ programs: PROGRAMS, mibPerProgram: MIB, lineBytes: LINE, runs: RUNS, results }, null, 2));
