#!/usr/bin/env node
// The web interface (SPEC §8) with 100 programs, in Debian's chromium (headless, puppeteer-core):
// time to interactive from navigation start (goal < 300 ms), bytes transferred for a page load,
// and ringmaster's CPU per open idle tab per minute, beside the same minute with no tab open.
// Usage: node bench/web/run.mjs [--loads N] [--seconds N] [--tabs N] [--json]
// Needs `npm run build:bundle` first, and chromium (apt-get install chromium).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import {
  BUNDLE, bundleSnapshot, busyPct, cleanup, cleanupAllSync, machineCpu, median, newMarker, programs, sleep, startSupervisor, threadsSched, tmpDir,
} from '../core/harness.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : dflt;
};
const LOADS = opt('--loads', 10);
const SECONDS = opt('--seconds', 60);
const TABS = opt('--tabs', 10);
const JSON_OUT = argv.includes('--json');
const N = 100;
const GOAL_MS = 300;
const log = (s) => process.stderr.write(`${s}\n`);

const chromium = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
if (!chromium) { console.error('chromium not found: apt-get install chromium'); process.exit(2); }
if (!fs.existsSync(BUNDLE)) { console.error(`${BUNDLE} missing: run npm run build:bundle`); process.exit(2); }
bundleSnapshot();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { cleanupAllSync(); process.exit(130); });

const marker = newMarker();
const dir = tmpDir();
const port = 20000 + Math.floor(Math.random() * 20000);
const origin = `http://127.0.0.1:${port}`;
const AUTH = `Basic ${Buffer.from('admin:bench').toString('base64')}`;
fs.writeFileSync(path.join(dir, 'r.yaml'), [
  'settings:', `  socket: ${JSON.stringify(path.join(dir, 'r.sock'))}`, `  http: "127.0.0.1:${port}"`, '  http_username: admin', '  http_password: bench', 'programs:',
  ...programs(N, `sleep 100000.${marker}`).map((p) => `  ${p.name}: {command: ${JSON.stringify(p.command)}, startsecs: 0}`),
].join('\n') + '\n');

const run = startSupervisor('ringmaster', dir);
run.marker = marker;
let browser;
try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`${origin}/v1/status`, { headers: { authorization: AUTH } }).catch(() => null);
    if (r?.ok && (await r.json()).processes.filter((p) => p.state === 'RUNNING').length === N) break;
    if (Date.now() > deadline || run.exitedAt != null) throw new Error(`${N} programs not RUNNING in 60 s; output tail:\n${run.tail()}`);
    await sleep(100);
  }
  browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  log(`ringmaster pid ${run.pid}, ${N} programs RUNNING; chromium ${await browser.version()}`);

  /** A tab with the credentials and a byte count per request (CDP: encoded bytes on the wire, headers included). */
  async function openTab(context) {
    const page = await context.newPage();
    await page.setExtraHTTPHeaders({ authorization: AUTH });
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    const bytes = { page: 0, stream: 0 };
    const streams = new Set();
    cdp.on('Network.requestWillBeSent', (e) => e.type === 'EventSource' && streams.add(e.requestId));
    // Chromium reports no byte counts for an open EventSource: each message as it was framed on the wire.
    cdp.on('Network.eventSourceMessageReceived', (e) => { bytes.stream += Buffer.byteLength(`event: ${e.eventName}\ndata: ${e.data}\n\n`); });
    cdp.on('Network.loadingFinished', (e) => { if (!streams.has(e.requestId)) bytes.page += e.encodedDataLength; });
    return { page, bytes };
  }

  async function load(tab) {
    await tab.page.goto(`${origin}/`, { waitUntil: 'domcontentloaded' });
    await tab.page.waitForSelector('html[data-live="1"]', { timeout: 30_000 });
    return tab.page.evaluate(() => ({
      interactive: performance.getEntriesByName('ringmaster-interactive')[0].startTime,
      live: performance.getEntriesByName('ringmaster-live')[0].startTime,
      rows: document.querySelectorAll('#procs tr[data-process][data-state="RUNNING"]').length,
      nav: (({ requestStart, responseStart, responseEnd, domInteractive }) => ({ requestStart, responseStart, responseEnd, domInteractive }))(performance.getEntriesByType('navigation')[0]),
    }));
  }

  // Cold: a fresh browser context each time (empty cache); warm: a reload in the same one.
  const cold = [];
  const warm = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.createBrowserContext();
    const tab = await openTab(context);
    const c = await load(tab);
    if (c.rows !== N) throw new Error(`${c.rows} rows RUNNING, expected ${N}`);
    if (process.env.WEB_BENCH_DEBUG) log(JSON.stringify(c));
    cold.push({ ...c, pageBytes: tab.bytes.page, streamBytes: tab.bytes.stream });
    tab.bytes.page = tab.bytes.stream = 0;
    const w = await load(tab);
    warm.push({ ...w, pageBytes: tab.bytes.page });
    await context.close();
  }
  // The floor on this machine at this moment: a page of one line and one deferred script that
  // marks itself, from a bare node:http server, loaded the same way.
  const floorServer = http.createServer((req, res) => {
    if (req.url === '/a.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end("performance.mark('ringmaster-interactive');performance.mark('ringmaster-live');document.documentElement.dataset.live='1'");
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>floor</title><script defer src="/a.js"></script><p>hello</p><table id="procs"></table>');
  });
  await new Promise((r) => floorServer.listen(0, '127.0.0.1', r));
  const floor = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.createBrowserContext();
    const tab = await openTab(context);
    await tab.page.goto(`http://127.0.0.1:${floorServer.address().port}/`, { waitUntil: 'domcontentloaded' });
    await tab.page.waitForSelector('html[data-live="1"]', { timeout: 30_000 });
    const cold = await tab.page.evaluate(() => performance.getEntriesByName('ringmaster-interactive')[0].startTime);
    await tab.page.reload({ waitUntil: 'domcontentloaded' });
    await tab.page.waitForSelector('html[data-live="1"]', { timeout: 30_000 });
    floor.push({ cold, warm: await tab.page.evaluate(() => performance.getEntriesByName('ringmaster-interactive')[0].startTime) });
    await context.close();
  }
  floorServer.close();

  const pick = (xs, k) => xs.map((x) => x[k]);
  const results = {
    programs: N,
    coldInteractiveMs: { median: median(pick(cold, 'interactive')), max: Math.max(...pick(cold, 'interactive')) },
    coldLiveMs: { median: median(pick(cold, 'live')), max: Math.max(...pick(cold, 'live')) },
    warmInteractiveMs: { median: median(pick(warm, 'interactive')), max: Math.max(...pick(warm, 'interactive')) },
    floorColdMs: median(pick(floor, 'cold')),
    floorWarmMs: median(pick(floor, 'warm')),
    coldPageBytes: median(pick(cold, 'pageBytes')),
    warmPageBytes: median(pick(warm, 'pageBytes')),
    firstStreamBytes: median(pick(cold, 'streamBytes')),
  };
  log(`loads done: ${LOADS} cold, ${LOADS} warm`);

  // Idle: ringmaster's CPU over SECONDS with no tab, then with TABS tabs open and nothing happening.
  async function cpuOver(seconds) {
    const a = threadsSched(run.pid);
    const m0 = machineCpu();
    await sleep(seconds * 1000);
    const b = threadsSched(run.pid);
    return { ms: (b.ns - a.ns) / 1e6, switches: b.switches - a.switches, machineBusy: busyPct(m0, machineCpu()) };
  }
  log(`idle, no tab: ${SECONDS} s`);
  const none = await cpuOver(SECONDS);
  // A window each: in one window only the front tab is visible, and a hidden tab closes its stream.
  const contexts = [];
  const tabs = [];
  for (let i = 0; i < TABS; i++) {
    contexts.push(await browser.createBrowserContext());
    const tab = await openTab(contexts[i]);
    await load(tab);
    tabs.push(tab);
  }
  await sleep(1000);
  for (const t of tabs) {
    const { visible, live } = await t.page.evaluate(() => ({ visible: document.visibilityState, live: document.documentElement.dataset.live }));
    if (visible !== 'visible' || live !== '1') throw new Error(`a tab is ${visible}, live=${live}: it would not hold its stream`);
  }
  for (const t of tabs) t.bytes.stream = 0;
  log(`idle, ${TABS} tabs: ${SECONDS} s`);
  const open = await cpuOver(SECONDS);
  const perMinute = 60 / SECONDS;
  results.idle = {
    seconds: SECONDS,
    tabs: TABS,
    noTabCpuMsPerMin: none.ms * perMinute,
    withTabsCpuMsPerMin: open.ms * perMinute,
    perTabCpuMsPerMin: ((open.ms - none.ms) * perMinute) / TABS,
    noTabSwitchesPerMin: none.switches * perMinute,
    withTabsSwitchesPerMin: open.switches * perMinute,
    streamBytesPerTabPerMin: (median(tabs.map((t) => t.bytes.stream)) * perMinute),
    machineBusyPct: Math.max(none.machineBusy, open.machineBusy),
  };
  for (const c of contexts) await c.close();

  if (JSON_OUT) console.log(JSON.stringify(results, null, 2));
  else {
    const ms = (x) => `${x.toFixed(1)} ms`;
    const kb = (x) => `${(x / 1024).toFixed(1)} KiB`;
    console.log(`web interface, ${N} programs (chromium headless; the machine was ${results.idle.machineBusyPct.toFixed(0)}% busy)`);
    console.log(`  interactive, cold cache   median ${ms(results.coldInteractiveMs.median)}, max ${ms(results.coldInteractiveMs.max)}   (goal < ${GOAL_MS} ms)`);
    console.log(`  live (stream synced), cold median ${ms(results.coldLiveMs.median)}, max ${ms(results.coldLiveMs.max)}`);
    console.log(`  interactive, warm reload  median ${ms(results.warmInteractiveMs.median)}, max ${ms(results.warmInteractiveMs.max)}`);
    console.log(`  floor: a one-line page      cold median ${ms(results.floorColdMs)}, warm ${ms(results.floorWarmMs)} (the same browser, this minute)`);
    console.log(`  bytes, cold load          ${kb(results.coldPageBytes)} (HTML, CSS, JS) + ${kb(results.firstStreamBytes)} first stream frames`);
    console.log(`  bytes, warm reload        ${kb(results.warmPageBytes)} (CSS and JS cached)`);
    const i = results.idle;
    console.log(`  idle CPU, no tab          ${ms(i.noTabCpuMsPerMin)} per minute (baseline)`);
    console.log(`  idle CPU, ${i.tabs} tabs          ${ms(i.withTabsCpuMsPerMin)} per minute -> ${ms(i.perTabCpuMsPerMin)} per tab per minute`);
    console.log(`  context switches          ${i.noTabSwitchesPerMin.toFixed(0)} per minute with no tab, ${i.withTabsSwitchesPerMin.toFixed(0)} with ${i.tabs} (wake-ups: polling would show here)`);
    console.log(`  pushed to an idle tab     ${kb(i.streamBytesPerTabPerMin)} per minute (CPU, memory, uptime every 10 s)`);
  }
} finally {
  await browser?.close().catch(() => {});
  const proc = browser?.process();
  if (proc?.pid && proc.exitCode === null) try { process.kill(proc.pid, 'SIGKILL'); } catch {}
  await cleanup(run, marker);
}
