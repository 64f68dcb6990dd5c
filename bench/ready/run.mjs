#!/usr/bin/env node
// Start-to-ready latency (issue #15, SPEC §10): how long after a program is able to serve does
// ringmaster know it, with `ready: notify` (sd_notify READY=1) beside the contract's alternative,
// a `tcp:` healthcheck every 1 s (Docker's way). Same run, same program (python3): after a delay
// it either sends READY=1 or starts listening, and writes the moment it did (ms) to a file; the
// bench notes when ringmaster's line saying so arrives on its stdout (`X entered RUNNING`, or
// `X is healthy`). Latency = that arrival minus the program's moment.
// Usage: node bench/ready/run.mjs [--n 10] [--json]      (build first: npm run build:bundle)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');
const argv = process.argv.slice(2);
const N = Number(argv[argv.indexOf('--n') + 1]) > 0 && argv.includes('--n') ? Number(argv[argv.indexOf('--n') + 1]) : 10;
const JSON_OUT = argv.includes('--json');
if (!fs.existsSync(BUNDLE)) {
  console.error(`${BUNDLE} missing: run npm run build:bundle`);
  process.exit(2);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-bench-ready-'));
const PROGRAM = `
import os, socket, sys, time
mode, delay, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
time.sleep(delay)
if mode == 'notify':
    a = os.environ['NOTIFY_SOCKET']
    a = '\\0' + a[1:] if a[0] == '@' else a
    t = time.time()
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', a)
else:
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t = time.time()
    l.bind(('127.0.0.1', int(sys.argv[4]))); l.listen(16)
open(out, 'w').write(str(t * 1000))
time.sleep(1000)
`;
fs.writeFileSync(path.join(dir, 'program.py'), PROGRAM);

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const lines = ['settings: {socket: ' + path.join(dir, 'rm.sock') + ', shutdown_timeout: 5s}', 'programs:'];
for (let i = 0; i < N; i++) {
  // Delays spread over 0.3–1.3 s, so the 1 s check interval is hit at every phase.
  const delay = (0.3 + i / N).toFixed(3);
  lines.push(`  n${i}: {command: [python3, ${path.join(dir, 'program.py')}, notify, "${delay}", ${path.join(dir, `n${i}.t`)}], ready: notify}`);
  const port = await freePort();
  lines.push(`  h${i}: {command: [python3, ${path.join(dir, 'program.py')}, tcp, "${delay}", ${path.join(dir, `h${i}.t`)}, "${port}"], startsecs: 0, healthcheck: {tcp: "127.0.0.1:${port}", interval: 1s, timeout: 1s}}`);
}
fs.writeFileSync(path.join(dir, 'ringmaster.yaml'), lines.join('\n') + '\n');

const known = new Map();
const rm = spawn(process.execPath, [BUNDLE, '-c', path.join(dir, 'ringmaster.yaml')], { stdio: ['ignore', 'pipe', 'inherit'] });
let buf = '';
const done = new Promise((resolve, reject) => {
  // Generous: on a loaded machine python3 alone can take seconds to start.
  const t = setTimeout(() => reject(new Error(`not every program was ready within 180 s (${known.size} of ${2 * N})`)), 180_000);
  if (process.env.BENCH_DEBUG) rm.stdout.pipe(process.stderr);
  rm.stdout.setEncoding('utf8').on('data', (d) => {
    const now = Date.now();
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /ringmaster \| (?:(n\d+) entered RUNNING|(h\d+) is healthy)/.exec(line);
      if (m && !known.has(m[1] ?? m[2])) known.set(m[1] ?? m[2], now);
    }
    if (known.size === 2 * N) {
      clearTimeout(t);
      resolve();
    }
  });
});
try {
  await done;
} catch (err) {
  rm.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  throw err;
}
rm.kill('SIGTERM');
await new Promise((resolve) => rm.on('close', resolve));

const latencies = (prefix) =>
  [...Array(N).keys()].map((i) => known.get(`${prefix}${i}`) - Number(fs.readFileSync(path.join(dir, `${prefix}${i}.t`), 'utf8'))).sort((a, b) => a - b);
const stats = (xs) => ({ median: xs[Math.floor(xs.length / 2)], p90: xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))], max: xs[xs.length - 1], min: xs[0] });
const notify = stats(latencies('n'));
const check = stats(latencies('h'));
fs.rmSync(dir, { recursive: true, force: true });
if (JSON_OUT) console.log(JSON.stringify({ n: N, notify, healthcheck1s: check }));
else {
  const f = (s) => `median ${s.median.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms, min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}`;
  console.log(`start-to-ready latency, ${N} programs each (load ${os.loadavg()[0].toFixed(1)}):`);
  console.log(`  ready: notify (READY=1)          ${f(notify)}`);
  console.log(`  tcp healthcheck, interval 1s     ${f(check)}   (baseline)`);
  console.log(`  notify is ${(check.median / Math.max(notify.median, 0.1)).toFixed(0)}x faster at the median`);
}
