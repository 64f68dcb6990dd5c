#!/usr/bin/env node
// XML-RPC throughput of the control socket, ringmaster beside supervisord in the same run:
// supervisor.getAllProcessInfo with 100 programs, over each one's unix socket, with a keep-alive
// client at several concurrency levels; req/s, p50/p99 latency, and the supervisor's CPU.
// Usage: node bench/control/run.mjs [--seconds N] [--warmup-seconds N] [--clients 1,8] [--json]
// Needs `npm run build:bundle` first, and supervisord (Debian package `supervisor`).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SaxesParser } from 'saxes';
import {
  BUNDLE, CLK_TCK, SIDES, bundleSnapshot, cleanup, cleanupAllSync, haveSupervisord, machineCpu, busyPct, newMarker, now, procStat, sleep,
  startSupervisor, tmpDir,
} from '../core/harness.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const SECONDS = Number(opt('--seconds', 5));
const WARMUP_S = Number(opt('--warmup-seconds', 1));
const CLIENTS = String(opt('--clients', '1,8')).split(',').map(Number);
const JSON_OUT = argv.includes('--json');
if (!(SECONDS > 0) || !(WARMUP_S >= 0) || !CLIENTS.every((c) => Number.isInteger(c) && c > 0)) {
  console.error('usage: node bench/control/run.mjs [--seconds N] [--warmup-seconds N] [--clients 1,8] [--json]');
  process.exit(2);
}

const N = 100;
const TARGET_RATIO = 5;
const RUNNING_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;
const log = (s) => process.stderr.write(s + '\n');

if (!fs.existsSync(BUNDLE)) { console.error(`${BUNDLE} missing: run npm run build:bundle`); process.exit(2); }
bundleSnapshot();
log(`ringmaster: ${BUNDLE} (built ${fs.statSync(BUNDLE).mtime.toISOString()}), snapshotted for this run`);
const sides = haveSupervisord() ? SIDES : ['ringmaster'];
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { cleanupAllSync(); process.exit(130); });
process.on('exit', cleanupAllSync);

/** The same 100 sleepers for both, startsecs 0; each supervisor with its own socket in `dir`. */
function writeConfigs(dir, marker) {
  const names = Array.from({ length: N }, (_, i) => `p${String(i).padStart(3, '0')}`);
  const command = `sleep 100000.${marker}`;
  const yaml = ['settings:', `  socket: ${JSON.stringify(path.join(dir, 'r.sock'))}`, 'programs:',
    ...names.map((n) => `  ${n}: {command: ${JSON.stringify(command)}, startsecs: 0}`)];
  const ini = [
    '[supervisord]', 'nodaemon=true', 'logfile=/dev/null', `pidfile=${dir}/s.pid`, `childlogdir=${dir}`,
    '[unix_http_server]', `file=${dir}/s.sock`,
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    ...names.flatMap((n) => ['', `[program:${n}]`, `command=${command}`, 'startsecs=0', 'stopasgroup=true', 'killasgroup=true',
      'stdout_logfile=/dev/stdout', 'stdout_logfile_maxbytes=0', 'stderr_logfile=/dev/stderr', 'stderr_logfile_maxbytes=0']),
  ];
  fs.writeFileSync(path.join(dir, 'r.yaml'), yaml.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 's.conf'), ini.join('\n') + '\n');
}

const CALL = Buffer.from("<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getAllProcessInfo</methodName>\n<params>\n</params>\n</methodCall>\n");

/** One POST /RPC2; resolves with status, body and latency in ms, or rejects (timeout included). */
function call(agent, socketPath) {
  return new Promise((resolve, reject) => {
    const t = now();
    const req = http.request({
      socketPath, agent, method: 'POST', path: '/RPC2',
      headers: { 'content-type': 'text/xml', 'content-length': CALL.length },
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString('utf8'), ms: now() - t }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(CALL);
  });
}

const count = (s, needle) => {
  let n = 0;
  for (let i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length)) n++;
  return n;
};

/**
 * The cheap check made on every answer (a full parse per answer would take the client's CPU from
 * the supervisor's on 2 cores): HTTP 200, a methodResponse with params and no fault, and 100
 * process structs, each with a statename.
 */
function checkAnswer(r) {
  if (r.status !== 200) return `HTTP ${r.status}`;
  const b = r.body;
  if (!b.includes('<methodResponse>') || !b.trimEnd().endsWith('</methodResponse>')) return 'not a methodResponse';
  if (b.includes('<fault>')) return `fault: ${b.slice(0, 300)}`;
  const structs = count(b, '<struct>');
  const statenames = count(b, '<name>statename</name>');
  if (structs !== N || statenames !== N) return `${structs} structs, ${statenames} statenames (expected ${N})`;
  return null;
}

/** The full check, once per supervisor: well-formed XML, one array of 100 structs, states as given. */
function parseProcesses(xml) {
  const parser = new SaxesParser();
  const stack = [];
  const procs = [];
  let cur = null;
  let member = null;
  let text = '';
  parser.on('opentag', (t) => {
    stack.push(t.name);
    text = '';
    if (t.name === 'struct' && stack.length === 8) procs.push((cur = {}));
  });
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (t) => {
    // methodResponse params param value array data value struct(8) member(9) name|value(10) int|string(11)
    if (cur && stack.length === 10 && t.name === 'name') member = text;
    else if (cur && stack.length === 11 && member) cur[member] = text;
    else if (cur && stack.length === 10 && t.name === 'value' && member && !(member in cur)) cur[member] = text; // a bare <value> is a string
    stack.pop();
    text = '';
  });
  parser.write(xml).close();
  return procs;
}

async function allRunning(agent, socketPath, run) {
  const deadline = now() + RUNNING_TIMEOUT_MS;
  let last = 'no answer yet';
  for (;;) {
    if (run.exitedAt != null) throw new Error(`${run.side} exited (${run.exitDesc}); output tail:\n${run.tail()}`);
    if (fs.existsSync(socketPath)) {
      try {
        const r = await call(agent, socketPath);
        if (r.status === 200) {
          const procs = parseProcesses(r.body);
          const running = procs.filter((p) => p.statename === 'RUNNING').length;
          last = `${procs.length} processes, ${running} RUNNING`;
          if (procs.length === N && running === N) return procs;
        } else last = `HTTP ${r.status}`;
      } catch (e) {
        last = e.message;
      }
    }
    if (now() > deadline) throw new Error(`timed out after ${RUNNING_TIMEOUT_MS} ms waiting for ${N} RUNNING (${last})`);
    await sleep(50);
  }
}

/** `clients` loops each sending the next call as soon as the last is answered, for `ms`. */
async function load(agent, socketPath, clients, ms) {
  const lat = [];
  const errors = [];
  const end = now() + ms;
  const loop = async () => {
    while (now() < end) {
      try {
        const r = await call(agent, socketPath);
        const bad = checkAnswer(r);
        if (bad) errors.push(bad);
        else lat.push(r.ms);
      } catch (e) {
        errors.push(e.message);
      }
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: clients }, loop));
  return { lat, errors, wallMs: now() - t0 };
}

const pctl = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);

async function measureSide(side) {
  const dir = tmpDir();
  const marker = newMarker();
  writeConfigs(dir, marker);
  const run = startSupervisor(side, dir);
  run.marker = marker;
  const socketPath = path.join(dir, side === 'ringmaster' ? 'r.sock' : 's.sock');
  const rows = [];
  try {
    const probe = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const t0 = now();
    await allRunning(probe, socketPath, run);
    probe.destroy();
    log(`${side}: ${N} RUNNING after ${(now() - t0).toFixed(0)} ms`);
    for (const clients of CLIENTS) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
      await load(agent, socketPath, clients, WARMUP_S * 1000);
      const cpu0 = procStat(run.pid).cpuTicks;
      const m0 = machineCpu();
      const r = await load(agent, socketPath, clients, SECONDS * 1000);
      const cpuMs = ((procStat(run.pid).cpuTicks - cpu0) * 1000) / CLK_TCK;
      const machineBusy = busyPct(m0, machineCpu());
      agent.destroy();
      const sorted = Float64Array.from(r.lat).sort();
      const row = {
        side, clients, requests: r.lat.length, errors: r.errors.length, firstErrors: [...new Set(r.errors)].slice(0, 3),
        reqPerS: (r.lat.length * 1000) / r.wallMs, p50Ms: pctl(sorted, 50), p99Ms: pctl(sorted, 99), maxMs: sorted.at(-1) ?? null,
        cpuPct: (100 * cpuMs) / r.wallMs, cpuMsPerReq: r.lat.length ? cpuMs / r.lat.length : null, machineBusyPct: machineBusy,
      };
      rows.push(row);
      log(`${side} × ${clients}: ${row.requests} ok, ${row.errors} bad in ${(r.wallMs / 1000).toFixed(1)} s; ${row.reqPerS.toFixed(0)} req/s, ` +
        `p50 ${row.p50Ms?.toFixed(2)} ms, p99 ${row.p99Ms?.toFixed(2)} ms, max ${row.maxMs?.toFixed(1)} ms; supervisor CPU ${row.cpuPct.toFixed(0)}% of a core; ` +
        `machine ${machineBusy.toFixed(0)}% busy${row.errors ? `; errors: ${row.firstErrors.join(' | ')}` : ''}`);
    }
    return rows;
  } finally {
    await cleanup(run, marker);
  }
}

const t0 = now();
const results = [];
const errors = [];
for (const side of sides) {
  try {
    results.push(...(await measureSide(side)));
  } catch (e) {
    errors.push(`${side}: ${e.message}`);
    log(`! ${side}: ${e.message}`);
  }
}
const totalS = (now() - t0) / 1000;

const ratios = CLIENTS.map((clients) => {
  const rm = results.find((r) => r.side === 'ringmaster' && r.clients === clients);
  const sv = results.find((r) => r.side === 'supervisord' && r.clients === clients);
  const ratio = rm && sv && sv.reqPerS > 0 ? rm.reqPerS / sv.reqPerS : null;
  // CPU per request moves less than req/s when other work shares the machine.
  const cpuRatio = rm?.cpuMsPerReq && sv?.cpuMsPerReq ? sv.cpuMsPerReq / rm.cpuMsPerReq : null;
  return { clients, ratio, cpuRatio, met: ratio == null ? null : ratio >= TARGET_RATIO };
});
const badAnswers = results.filter((r) => r.errors > 0).map((r) => `${r.side} × ${r.clients}: ${r.errors} bad (${r.firstErrors.join(' | ')})`);
const judged = ratios.filter((r) => r.met !== null);
const met = judged.length === CLIENTS.length && judged.every((r) => r.met) && badAnswers.length === 0;
const oneLine = `target ringmaster ≥ ${TARGET_RATIO}× supervisord's req/s at every concurrency: ${judged.length < CLIENTS.length ? 'not judged (a side failed)' : met ? 'met' : 'NOT met'}` +
  ` (${ratios.map((r) => `${r.clients} client${r.clients > 1 ? 's' : ''}: ${r.ratio == null ? 'n/a' : `${r.ratio.toFixed(1)}×`}`).join(', ')})` +
  (ratios.some((r) => r.cpuRatio != null) ? `; supervisord's CPU per request / ringmaster's: ${ratios.map((r) => `${r.cpuRatio == null ? 'n/a' : `${r.cpuRatio.toFixed(1)}×`}`).join(', ')}` : '') +
  (badAnswers.length ? `; bad answers: ${badAnswers.join('; ')}` : '');

if (JSON_OUT) {
  console.log(JSON.stringify({ oneLine, met, programs: N, seconds: SECONDS, warmupSeconds: WARMUP_S, clients: CLIENTS, totalSeconds: totalS, results, ratios, errors }, null, 2));
} else {
  const head = ['contender', 'clients', 'req/s', 'p50 ms', 'p99 ms', 'CPU (% of a core)', 'CPU ms/req', 'ringmaster/supervisord'];
  const rows = results.map((r) => {
    const ratio = ratios.find((x) => x.clients === r.clients)?.ratio;
    return [r.side, String(r.clients), r.reqPerS.toFixed(0), r.p50Ms?.toFixed(2) ?? '-', r.p99Ms?.toFixed(2) ?? '-', `${r.cpuPct.toFixed(0)}%`,
      r.cpuMsPerReq?.toFixed(3) ?? '-', r.side === 'ringmaster' && ratio != null ? `${ratio.toFixed(1)}×` : ''];
  });
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`supervisor.getAllProcessInfo, ${N} programs RUNNING, unix socket, keep-alive; ${SECONDS} s per level after ${WARMUP_S} s warm-up; ` +
    `client and supervisor share the machine; bench took ${totalS.toFixed(0)} s` + (sides.length === 1 ? '; supervisord not installed (apt-get install supervisor)' : ''));
  if (errors.length) console.log(`errors:\n  ${errors.join('\n  ')}`);
  console.log(oneLine);
}
process.exitCode = errors.length || badAnswers.length ? 1 : 0;
