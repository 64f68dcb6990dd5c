#!/usr/bin/env node
// Output throughput (issue #4): 4 programs x MiB of 100-byte lines, as big chunks and as one
// write per line, multiplexed onto one stdout read by a counting reader that checks every line.
// Beside ringmaster, in the same run: supervisord (stdout_logfile=/dev/stdout), concurrently
// (npm) and the `sed 's/^/[x] /'` pipeline.
//   node bench/logs/run.mjs [--mib 50] [--runs 1]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const MIB = Number(args[args.indexOf('--mib') + 1]) || 50;
const PROGRAMS = 4;
const LINE = 100;
const LINES = Math.floor((MIB * 1024 * 1024) / LINE);
const dir = mkdtempSync(path.join(tmpdir(), 'rm-logs-'));

// Line i of program p: "p<p> <i, 8 digits> yyyy…\n", 100 bytes: checkable without storing anything.
function writeData(p) {
  const file = path.join(dir, `data${p}`);
  const buf = Buffer.alloc(LINES * LINE, 'y');
  for (let i = 0; i < LINES; i++) {
    const o = i * LINE;
    buf.write(`p${p} ${String(i).padStart(8, '0')} `, o, 'latin1');
    buf[o + LINE - 1] = 10;
  }
  writeFileSync(file, buf);
  return file;
}
const files = Array.from({ length: PROGRAMS }, (_, p) => writeData(p));
const perLine = path.join(dir, 'perline.py');
writeFileSync(perLine, 'import os,sys\nf=open(sys.argv[1],"rb")\nfor line in f:\n    os.write(1, line)\n');
const counter = path.join(import.meta.dirname, 'counter.mjs');

function producer(mode, p) {
  return mode === 'chunks' ? `cat ${files[p]}` : `python3 ${perLine} ${files[p]}`;
}

/** The command line of each contender for a mode; all feed `node counter.mjs` through a pipe. */
function contenders(mode) {
  const yaml = path.join(dir, `r-${mode}.yaml`);
  writeFileSync(yaml, `settings: {exit_policy: all}\nprograms:\n${files.map((_, p) => `  p${p}: {command: "${producer(mode, p)}", startsecs: 0, autorestart: false}`).join('\n')}\n`);
  const ini = path.join(dir, `s-${mode}.conf`);
  writeFileSync(ini, [
    '[supervisord]', 'nodaemon=true', 'logfile=/dev/null', `pidfile=${dir}/s.pid`, `childlogdir=${dir}`, 'loglevel=error',
    ...files.flatMap((_, p) => [`[program:p${p}]`, `command=${producer(mode, p)}`, 'startsecs=0', 'autorestart=false',
      'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0']),
  ].join('\n') + '\n');
  const conc = path.join(ROOT, 'node_modules', '.bin', 'concurrently');
  const quoted = files.map((_, p) => `"${producer(mode, p)}"`).join(' ');
  return {
    ringmaster: `node ${path.join(ROOT, 'dist', 'ringmaster.cjs')} -c ${yaml}`,
    // supervisord never exits on its own: stop it once the counter saw everything.
    supervisord: `supervisord -n -c ${ini}`,
    concurrently: `${conc} --raw=false ${quoted}`,
    // One sed over the programs one after the other: several seds on one pipe would mix lines.
    sed: `(${files.map((_, p) => producer(mode, p)).join('; ')}) | sed 's/^/[x] /'`,
  };
}

/** utime+stime of a pid in seconds, or null once it is gone. */
function cpuSeconds(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

function measure(name, command) {
  return new Promise((resolve) => {
    // The contender's own CPU (not its programs'): it writes its pid, then is sampled until it ends.
    const pidFile = path.join(dir, `${name}.pid`);
    writeFileSync(pidFile, '');
    const own = name === 'sed' ? command : `sh -c 'echo $$ > ${pidFile}; exec ${command.replace(/'/g, `'\\''`)}'`;
    const script = `${own} | node ${counter} ${PROGRAMS} ${LINES}`;
    let cpu = null;
    const sampler = setInterval(() => {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      const c = pid ? cpuSeconds(pid) : null;
      if (c !== null) cpu = c;
    }, 20);
    const t0 = process.hrtime.bigint();
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      // supervisord keeps running after its programs ended: the counter's verdict ends the run.
      if (name === 'supervisord' && out.includes('\n')) try { process.kill(-child.pid, 'SIGTERM'); } catch {}
    });
    const killer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 120_000);
    child.on('close', () => {
      clearTimeout(killer);
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const r = JSON.parse(out.split('\n')[0] || '{"lines":0,"lost":-1,"mixed":-1,"cpu":0}');
      resolve({ name, seconds: r.seconds ?? seconds, cpu, ...r });
    });
  });
}

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const total = (PROGRAMS * LINES * LINE) / 1048576;
console.log(`${PROGRAMS} programs x ${MIB} MiB of ${LINE}-byte lines = ${total.toFixed(0)} MiB per run\n`);
for (const mode of ['chunks', 'per-line']) {
  const rows = [];
  for (const [name, cmd] of Object.entries(contenders(mode))) {
    if (name === 'supervisord' && !have('supervisord')) continue;
    rows.push(await measure(name, cmd));
  }
  const sed = rows.find((r) => r.name === 'sed');
  const conc = rows.find((r) => r.name === 'concurrently');
  console.log(`mode: ${mode === 'chunks' ? 'big chunks (cat)' : 'one write per line'}`);
  console.log('| contender | MiB/s | CPU s (own) | lines | lost | mixed | vs sed | vs concurrently |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const mibs = total / r.seconds;
    const ratio = (o) => (o ? (mibs / (total / o.seconds)).toFixed(2) + 'x' : '-');
    console.log(`| ${r.name} | ${mibs.toFixed(0)} | ${r.cpu === null ? '-' : r.cpu.toFixed(2)} | ${r.lines} | ${r.lost} | ${r.mixed} | ${ratio(sed)} | ${ratio(conc)} |`);
  }
  console.log('');
}
