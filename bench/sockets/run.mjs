#!/usr/bin/env node
// A shared socket across restarts (SPEC §9 `socket:`): an HTTP program under a steady client
// load (loopback only, bounded in time and count) is restarted again and again by `ctl restart`.
// Two runs side by side: the program binds its port itself (the baseline: what a program without
// `socket:` does) and the program accepts on the socket ringmaster holds (fd 3, LISTEN_FDS).
// Prints failed requests (goal with `socket:`: 0) and the latency of requests that overlapped a
// restart beside the latency of the others.
// Usage: node bench/sockets/run.mjs [--seconds 10] [--clients 4] [--restarts 5] [--max-requests 200000] [--json]
// Needs `npm run build:bundle` first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : dflt;
};
const SECONDS = opt('--seconds', 10);
const CLIENTS = opt('--clients', 4);
const RESTARTS = opt('--restarts', 5);
const MAX_REQUESTS = opt('--max-requests', 200_000);
const JSON_OUT = argv.includes('--json');
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'ringmaster.cjs');
if (!fs.existsSync(BUNDLE)) {
  console.error(`${BUNDLE} missing: run npm run build:bundle`);
  process.exit(2);
}
const log = (s) => process.stderr.write(`${s}\n`);

// The program: node's http server on fd 3 when ringmaster passes one, else on $PORT. On TERM it
// stops accepting and ends once its open requests are answered (a graceful server).
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(String(process.pid)));
server.keepAliveTimeout = 0;
const fds = Number(process.env.LISTEN_FDS || 0);
if (fds === 1 && Number(process.env.LISTEN_PID) === process.pid) server.listen({ fd: 3 });
else server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function get(port) {
  return new Promise((resolve) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, start, end: performance.now() }));
      res.on('error', () => resolve({ ok: false, start, end: performance.now() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, start, end: performance.now(), error: e.code ?? e.message }));
  });
}

/** `ringmaster ctl` without blocking the clients' event loop. */
function ctl(socket, ...args) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BUNDLE, 'ctl', '-s', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

const pct = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

async function runSide(withSocket) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-bench-sock-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'server.cjs'), SERVER);
  const ctlSocket = path.join(dir, 'rm.sock');
  fs.writeFileSync(path.join(dir, 'ringmaster.yaml'), `settings: {socket: ${ctlSocket}}
programs:
  web:
    command: ${process.execPath} ${path.join(dir, 'server.cjs')}
    startsecs: 0
    stopwaitsecs: 10
    environment: {PORT: "${port}"}
${withSocket ? `    socket: tcp://127.0.0.1:${port}\n` : ''}`);
  const rm = spawn(process.execPath, [BUNDLE, '-c', path.join(dir, 'ringmaster.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    // Up: the first answer.
    const until = Date.now() + 30_000;
    while (!(await get(port)).ok) {
      if (Date.now() > until) throw new Error('the program never answered');
      await new Promise((r) => setTimeout(r, 50));
    }
    const results = [];
    const windows = [];
    let running = true;
    const deadline = performance.now() + SECONDS * 1000;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (running && performance.now() < deadline && results.length < MAX_REQUESTS) results.push(await get(port));
    });
    const restarts = (async () => {
      const gap = (SECONDS * 1000) / (RESTARTS + 1);
      for (let i = 0; i < RESTARTS && running; i++) {
        await new Promise((r) => setTimeout(r, gap * 0.8));
        const start = performance.now();
        const r = await ctl(ctlSocket, 'restart', 'web');
        if (r.code !== 0) log(`ctl restart: ${r.out}`);
        // The restart window lasts until the new process answers.
        while ((await get(port)).ok === false && performance.now() < start + 10_000) {}
        windows.push([start, performance.now()]);
      }
    })();
    await restarts;
    await Promise.all(clients);
    running = false;
    const during = (r) => windows.some(([a, b]) => r.end >= a && r.start <= b);
    const lat = (list) => list.filter((r) => r.ok).map((r) => r.end - r.start).sort((a, b) => a - b);
    const inside = lat(results.filter(during));
    const outside = lat(results.filter((r) => !during(r)));
    const failed = results.filter((r) => !r.ok);
    const errors = {};
    for (const f of failed) errors[f.error ?? 'bad answer'] = (errors[f.error ?? 'bad answer'] ?? 0) + 1;
    return {
      side: withSocket ? 'socket: (ringmaster holds it)' : 'no socket: (program binds)',
      requests: results.length,
      failed: failed.length,
      errors,
      restarts: windows.length,
      p50Outside: pct(outside, 50),
      p99Outside: pct(outside, 99),
      p50During: pct(inside, 50),
      p99During: pct(inside, 99),
      maxDuring: inside.length ? inside[inside.length - 1] : NaN,
    };
  } finally {
    rm.kill('SIGTERM');
    await new Promise((r) => (rm.exitCode !== null ? r() : rm.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const withSocket of [false, true]) {
  log(`running ${withSocket ? 'with' : 'without'} socket: for ${SECONDS}s, ${CLIENTS} clients, ${RESTARTS} restarts…`);
  rows.push(await runSide(withSocket));
}
if (JSON_OUT) console.log(JSON.stringify(rows, null, 2));
else {
  const f = (n) => (Number.isNaN(n) ? '-' : n.toFixed(1));
  console.log(`${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; ${SECONDS}s per side, ${CLIENTS} clients, ${RESTARTS} restarts`);
  console.log('side                            restarts requests  failed  p50/p99 ms (no restart)  p50/p99/max ms (overlapping a restart)');
  for (const r of rows) {
    console.log(`${r.side.padEnd(32)}${String(r.restarts).padStart(8)}${String(r.requests).padStart(9)}${String(r.failed).padStart(8)}  ${`${f(r.p50Outside)} / ${f(r.p99Outside)}`.padEnd(25)}${f(r.p50During)} / ${f(r.p99During)} / ${f(r.maxDuring)}${r.failed ? `   errors: ${JSON.stringify(r.errors)}` : ''}`);
  }
}
