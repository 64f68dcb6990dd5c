// What SPEC §10's stages and hooks cost on the way out when they do nothing (issue #15):
// ms from SIGTERM to ringmaster's exit for N programs that stop at once on TERM,
//   baseline: no hooks, no finish program
//   hooks:    every program with pre_stop and post_stop hooks that are `true`
//   finish:   the baseline plus one finish program that is `true`
//   both:     hooks and the finish program
// Same run, same machine, rounds interleaved; prints the median and p90 of each and the extra
// time over the baseline. Usage: npm run build:bundle && node bench/stages/run.mjs [--rounds N] [--programs N]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(root, 'dist', 'ringmaster.cjs');
const arg = (name, dflt) => Number(process.argv[process.argv.indexOf(name) + 1]) || dflt;
const rounds = arg('--rounds', 15);
const programs = arg('--programs', 4);

function config(dir, { hooks, finish }) {
  let text = `settings: {socket: ${path.join(dir, 'rm.sock')}}\nprograms:\n`;
  for (let i = 0; i < programs; i++) {
    text += `  p${i}: {command: sleep 1000, startsecs: 0${hooks ? ', hooks: {pre_stop: "true", post_stop: "true"}' : ''}}\n`;
  }
  if (finish) text += '  done: {command: "true", stage: finish}\n';
  const file = path.join(dir, `${hooks ? 'h' : ''}${finish ? 'f' : ''}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** One run: start, wait until every program is RUNNING, TERM, ms until the exit. */
function once(file) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUNDLE, '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let t0 = 0;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit: ${out.slice(-300)}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (!t0 && (out.match(/entered RUNNING/g) ?? []).length === programs) {
        t0 = performance.now();
        child.kill('SIGTERM');
      }
    });
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`exit ${code}: ${out.slice(-300)}`));
      resolve(performance.now() - t0);
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), 'rm-bench-stages-'));
const cases = [
  { name: 'baseline (no hooks, no finish)', file: config(dir, {}) },
  { name: `pre_stop + post_stop on each of ${programs}`, file: config(dir, { hooks: true }) },
  { name: 'one finish program', file: config(dir, { finish: true }) },
  { name: 'hooks and the finish program', file: config(dir, { hooks: true, finish: true }) },
];
const times = cases.map(() => []);
for (let r = 0; r < rounds; r++) for (const [i, c] of cases.entries()) times[i].push(await once(c.file));

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const base = q(times[0], 0.5);
console.log(`SIGTERM -> exit, ${programs} programs, ${rounds} rounds (node ${process.version})`);
for (const [i, c] of cases.entries()) {
  const med = q(times[i], 0.5);
  console.log(`${c.name.padEnd(36)} median ${med.toFixed(1).padStart(6)} ms  p90 ${q(times[i], 0.9).toFixed(1).padStart(6)} ms  extra ${i === 0 ? '   -' : `${(med - base).toFixed(1).padStart(6)} ms`}`);
}
