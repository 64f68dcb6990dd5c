// PID-1 figures of ringmaster beside tini, same run, same machine (issue #3):
//   1. zombies left 2 s after 1000 orphans exited, as PID 1 of a fresh PID namespace (target: 0)
//   2. ms from a signal sent to the init until the program's handler runs (target: < 5 ms)
//   3. cold start of `dist/ringmaster --version` beside `node dist/ringmaster.cjs --version`
//      (target: the single executable <= 1.1x the bundle)
// Usage: node scripts/build.mjs && node bench/pid1/run.mjs [--rounds N]
// Needs: root (unshare), tini, python3 (the signal receiver), hyperfine (else timed here).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const SEA = path.join(root, 'dist', 'ringmaster');
const BUNDLE = path.join(root, 'dist', 'ringmaster.cjs');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 50;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const inits = [
  { name: 'ringmaster (SEA)', argv: [SEA, '--'], ok: existsSync(SEA) },
  { name: 'ringmaster (bundle)', argv: [process.execPath, BUNDLE, '--'], ok: existsSync(BUNDLE) },
  { name: 'tini', argv: ['tini', '--'], ok: spawnSync('tini', ['--version']).status === 0 },
];

/** Start `init -- cmd…` as PID 1 of a new PID namespace; resolves the init's host pid. */
function startAsPid1(init, cmd) {
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', ...init.argv, ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('close', r));
  const initPid = async () => {
    for (let i = 0; i < 500; i++) {
      const kids = childrenOf(child.pid);
      if (kids.length) return kids[0];
      await sleep(10);
    }
    throw new Error('init did not start');
  };
  const waitFor = async (re, ms = 30_000) => {
    const until = Date.now() + ms;
    while (!re.test(out)) {
      if (Date.now() > until) throw new Error(`timeout waiting for ${re}: ${out.slice(-200)}`);
      await sleep(5);
    }
  };
  return { child, exited, initPid, waitFor, out: () => out, kill: () => { try { process.kill(child.pid, 'SIGKILL'); } catch {} } };
}

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
function childrenOf(pid) {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((p) => Number(stat(p)?.[1]) === pid);
}
function namespacePids(pid) {
  const ns = readlinkSync(`/proc/${pid}/ns/pid`);
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try { return readlinkSync(`/proc/${e}/ns/pid`) === ns; } catch { return false; }
  }).map(Number);
}

async function zombies(init) {
  const run = startAsPid1(init, ['sh', '-c', 'for i in $(seq 10); do sh -c \'for j in $(seq 100); do sleep 0.2 & done\'; done; echo spawned; sleep 60']);
  try {
    await run.waitFor(/spawned/);
    const pid = await run.initPid();
    await sleep(200 + 2000); // the orphans end 0.2 s after they started; count 2 s later
    return namespacePids(pid).filter((p) => stat(p)?.[0] === 'Z').length;
  } finally {
    run.kill();
    await run.exited;
  }
}

const RECEIVER = `
import os, signal, sys, time
def on(sig, frame):
    sys.stdout.write("got %d\\n" % time.monotonic_ns()); sys.stdout.flush()
signal.signal(signal.SIGUSR1, on)
print("ready", flush=True)
while True: signal.pause()
`;

async function latency(init) {
  const run = startAsPid1(init, ['python3', '-c', RECEIVER]);
  try {
    await run.waitFor(/ready/);
    const pid = await run.initPid();
    const ms = [];
    for (let i = 0; i < rounds; i++) {
      const seen = (run.out().match(/got/g) ?? []).length;
      const t0 = process.hrtime.bigint();
      process.kill(pid, 'SIGUSR1');
      const until = Date.now() + 2000;
      while ((run.out().match(/got/g) ?? []).length === seen && Date.now() < until) await sleep(1);
      const lines = run.out().trim().split('\n');
      const t1 = BigInt(lines[lines.length - 1].split(' ')[1]);
      ms.push(Number(t1 - t0) / 1e6);
      await sleep(20);
    }
    ms.sort((a, b) => a - b);
    return { median: ms[Math.floor(ms.length / 2)], p95: ms[Math.floor(ms.length * 0.95)] };
  } finally {
    run.kill();
    await run.exited;
  }
}

function coldStart() {
  const cmds = [`${SEA} --version`, `${process.execPath} ${BUNDLE} --version`];
  if (spawnSync('hyperfine', ['--version']).status === 0) {
    const json = '/tmp/ringmaster-bench-coldstart.json';
    execFileSync('hyperfine', ['-N', '--warmup', '5', '--runs', '60', '--export-json', json, ...cmds], { stdio: 'ignore' });
    const r = JSON.parse(readFileSync(json, 'utf8')).results;
    return r.map((x) => x.median * 1000);
  }
  return cmds.map((c) => {
    const [file, ...args] = c.split(' ');
    const t = [];
    for (let i = 0; i < 40; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(file, args);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return t.sort((a, b) => a - b)[20];
  });
}

const rows = [];
for (const init of inits.filter((i) => i.ok)) {
  const z = await zombies(init);
  const l = spawnSync('python3', ['--version']).status === 0 ? await latency(init) : null;
  rows.push([init.name, String(z), l ? l.median.toFixed(2) : '-', l ? l.p95.toFixed(2) : '-']);
}
console.log('\n| init as PID 1 | zombies 2 s after 1000 orphans | signal → handler median ms | p95 ms |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

if (existsSync(SEA)) {
  const [sea, bundle] = coldStart();
  console.log('\n| cold start `--version` | median ms |');
  console.log('|---|---|');
  console.log(`| dist/ringmaster (SEA) | ${sea.toFixed(1)} |`);
  console.log(`| node dist/ringmaster.cjs | ${bundle.toFixed(1)} |`);
  console.log(`| ratio SEA / bundle | ${(sea / bundle).toFixed(2)} (target <= 1.10) |`);
}
