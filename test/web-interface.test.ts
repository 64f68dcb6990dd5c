// SPEC §8: Supervisor's web interface at `/`. A real ringmaster (the built bundle) supervising real
// programs; chromium clicks the real buttons and the test watches data-state change; a plain HTTP
// client does what a browser without JavaScript (or another site) would.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { launchBrowser, noBrowserReason } from './support/browser';
import { freePort, httpUnix } from './support/http';
import { ROOT, Ringmaster, tempDir, writeConfig } from './support/ringmaster';

const USER = 'admin';
const PASS = 's3cret';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const SHOTS = path.join(ROOT, 'test-output', 'web');
const WAIT = 15_000;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, method: string, urlPath: string, opts: { headers?: Record<string, string>; body?: string; auth?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.auth === false ? {} : { authorization: AUTH }), ...opts.headers };
    if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = request({ host: '127.0.0.1', port, method, path: urlPath, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function status(port: number): Promise<Map<string, { state: string; pid: number }>> {
  const r = await http(port, 'GET', '/v1/status');
  assert.equal(r.status, 200, r.body);
  return new Map(JSON.parse(r.body).processes.map((p: { namespec: string; state: string; pid: number }) => [p.namespec, p]));
}

/** Until `check` holds, asking /v1/status each time a state may have changed (bounded). */
async function until(port: number, what: string, check: (s: Map<string, { state: string; pid: number }>) => boolean): Promise<void> {
  const end = Date.now() + WAIT;
  for (;;) {
    if (check(await status(port))) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...(await status(port))])}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CONFIG = (dir: string, port: number) => `settings:
  socket: ${path.join(dir, 'rm.sock')}
  http: "127.0.0.1:${port}"
  http_username: ${USER}
  http_password: ${PASS}
programs:
  web:
    command: ["sh", "-c", "echo '<script>alert(1)</script><b>bold</b>'; echo 'to stderr' >&2; trap 'echo got-usr1' USR1; echo ready; while :; do sleep 1000 & wait $!; done"]
    startsecs: 0
  flaky:
    command: ["sh", "-c", "echo failing >&2; exit 3"]
    startsecs: 1
    startretries: 0
  idle:
    command: ["sleep", "1000"]
    autostart: false
  workers:
    command: ["sleep", "1000"]
    numprocs: 2
    process_name: "%(program_name)s_%(process_num)02d"
    startsecs: 0
  db:
    command: ["sleep", "1000"]
    startsecs: 0
    healthcheck: {exec: "sh -c 'test -e ${path.join(dir, 'db-ok')} || { echo db is not ready; exit 1; }'", interval: 1s, timeout: 5s, retries: 1}
  api:
    command: ["sleep", "1000"]
    startsecs: 0
    depends_on: {db: {condition: healthy}}
`;

describe('the web interface (SPEC §8)', () => {
  let rm: Ringmaster;
  let port: number;
  let socket: string;
  let dir: string;
  let configFile: string;

  before(async () => {
    port = await freePort();
    dir = tempDir('rm-web-');
    socket = path.join(dir, 'rm.sock');
    configFile = writeConfig(CONFIG(dir, port), dir);
    rm = new Ringmaster({ args: ['-c', configFile] });
    await rm.waitFor(/web.*ready/, WAIT);
    await until(port, 'web RUNNING and flaky FATAL', (s) => s.get('web')?.state === 'RUNNING' && s.get('flaky')?.state === 'FATAL' && s.get('workers:workers_01')?.state === 'RUNNING');
  });

  after(async () => {
    rm.kill();
    await rm.exited;
  });

  it('serves the page on settings.http only with the credentials, and on the control socket', async () => {
    assert.equal((await http(port, 'GET', '/', { auth: false })).status, 401);
    const page = await http(port, 'GET', '/');
    assert.equal(page.status, 200);
    const css = /href="(\/web\/app\.[0-9a-f]+\.css)"/.exec(page.body)![1];
    const js = /src="(\/web\/app\.[0-9a-f]+\.js)"/.exec(page.body)![1];
    for (const asset of [css, js]) {
      assert.equal((await http(port, 'GET', asset, { auth: false })).status, 401, `${asset} without credentials`);
      assert.equal((await http(port, 'GET', asset)).status, 200, asset);
    }
    assert.equal((await http(port, 'GET', '/web/events', { auth: false })).status, 401);
    const viaSocket = await httpUnix(socket, 'GET', '/');
    assert.equal(viaSocket.status, 200);
    assert.match(viaSocket.body, /data-process="workers:workers_00"/);
  });

  it('sends a strict CSP; the page has no inline script or style; names and output are escaped', async () => {
    const page = await http(port, 'GET', '/');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    for (const tag of page.body.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\bsrc="\/web\//, `inline script: ${tag}`);
    assert.doesNotMatch(page.body, /<style\b| style=|\son[a-z]+=/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no address of another origin');
    // Each row and its hooks; the states as the supervisor has them.
    for (const [name, state] of [['web', 'RUNNING'], ['flaky', 'FATAL'], ['idle', 'STOPPED'], ['workers:workers_01', 'RUNNING']]) {
      const row = new RegExp(`<tr data-process="${name}" data-state="${state}"[^]*?</tr>`).exec(page.body);
      assert.ok(row, `row ${name} ${state}`);
      for (const a of ['start', 'stop', 'restart', 'clear', 'tail']) assert.match(row[0], new RegExp(`<button[^>]*data-action="${a}"`));
    }
    assert.match(page.body, /pid \d+, uptime \d+:\d\d:\d\d/);
    assert.match(page.body, /data-action="restartall"/);
    assert.match(page.body, /data-action="stopall"/);
    const tail = await http(port, 'GET', '/web/tail?name=web');
    assert.equal(tail.status, 200);
    assert.ok(tail.headers['content-security-policy']);
    assert.ok(tail.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;'), tail.body);
    assert.ok(!tail.body.includes('<script>alert'));
    assert.ok(tail.body.includes('to stderr'));
    // A query shown back on the page is text too.
    const msg = await http(port, 'GET', `/?msg=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    assert.ok(msg.body.includes('&lt;img src=x onerror=alert(1)&gt;'));
  });

  it('never acts on a GET', async () => {
    for (const url of ['/web/action?name=idle&action=start', '/?name=idle&action=start', '/web/tail?name=idle&action=start']) {
      const r = await http(port, 'GET', url);
      assert.ok(r.status === 405 || r.status === 200, `${url}: ${r.status}`);
    }
    assert.equal((await http(port, 'GET', '/web/action?name=idle&action=start')).status, 405);
    // Nothing started: idle is STOPPED, and stays so past the time a start would take.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await status(port)).get('idle')!.state, 'STOPPED');
  });

  it('refuses a POST from another origin with 403 (Origin, or Referer without one), and changes nothing', async () => {
    const before = (await status(port)).get('web')!.pid;
    const form = 'name=web&action=stop';
    assert.equal((await http(port, 'POST', '/web/action', { body: form, headers: { origin: 'http://evil.example' } })).status, 403);
    assert.equal((await http(port, 'POST', '/web/action', { body: form, headers: { origin: 'null' } })).status, 403);
    assert.equal((await http(port, 'POST', '/web/action', { body: form, headers: { referer: 'http://evil.example/page' } })).status, 403);
    assert.equal((await http(port, 'POST', '/web/action', { body: form, headers: { origin: `http://127.0.0.1:${port + 1}` } })).status, 403);
    // The JSON API's verbs too: a form on another site could post text/plain to them.
    assert.equal((await http(port, 'POST', '/v1/stop', { body: '{"names":["web"]}', headers: { origin: 'http://evil.example', 'content-type': 'text/plain' } })).status, 403);
    const now = (await status(port)).get('web')!;
    assert.equal(now.state, 'RUNNING');
    assert.equal(now.pid, before);
  });

  it('does every action with JavaScript off: a form POST, then 303 back to the page it came from', async () => {
    const from = `http://127.0.0.1:${port}/?state=STOPPED`;
    const started = await http(port, 'POST', '/web/action', { body: 'name=idle&action=start', headers: { origin: `http://127.0.0.1:${port}`, referer: from } });
    assert.equal(started.status, 303);
    assert.equal(started.headers.location, '/?state=STOPPED&msg=idle%3A+started');
    await until(port, 'idle RUNNING', (s) => s.get('idle')!.state === 'RUNNING');
    const pid = (await status(port)).get('idle')!.pid;
    assert.equal((await http(port, 'POST', '/web/action', { body: 'name=idle&action=restart' })).status, 303);
    await until(port, 'idle restarted', (s) => s.get('idle')!.state === 'RUNNING' && s.get('idle')!.pid !== pid);
    assert.ok(!existsSync(`/proc/${pid}`), 'the old idle is gone');
    const stopped = await http(port, 'POST', '/web/action', { body: 'name=idle&action=stop' });
    assert.equal(stopped.headers.location, '/?msg=idle%3A+stopped');
    await until(port, 'idle STOPPED', (s) => s.get('idle')!.state === 'STOPPED');
    const again = await http(port, 'POST', '/web/action', { body: 'name=idle&action=stop' });
    assert.match(String(again.headers.location), /error=1/);
    const page = await http(port, 'GET', String(again.headers.location));
    assert.match(page.body, /<p id="msg" role="status" class="error">idle: ERROR \(/);
    // Filters and order without JavaScript: the server applies the query.
    const filtered = (await http(port, 'GET', '/?state=failing&order=failing')).body;
    assert.match(filtered, /<tbody id="procs"><tr data-process="flaky" data-state="FATAL"[^>]*data-failing="1">/);
    assert.match(filtered, /<tr data-process="web" [^>]* hidden>/);
    assert.match((await http(port, 'GET', '/?q=WORK')).body, /<tr data-process="workers:workers_00" [^>]*data-failing="0">/);
    assert.match((await http(port, 'GET', '/?state=nonsense')).body, /<tr data-process="web" [^>]*data-failing="0">/);
    // A bad action or name: 400 or an error, and nothing changes.
    assert.equal((await http(port, 'POST', '/web/action', { body: 'name=idle&action=explode' })).status, 400);
    const bad = await http(port, 'POST', '/web/action', { body: 'name=nope&action=start', headers: { accept: 'application/json' } });
    assert.equal(bad.status, 409);
    assert.equal(JSON.parse(bad.body).ok, false);
    assert.equal((await status(port)).get('idle')!.state, 'STOPPED');
  });

  it('in chromium: live states, the real buttons, a live tail, filters, one connection, phone layout', async (t) => {
    const skip = noBrowserReason();
    if (skip) return void t.skip(skip);
    mkdirSync(SHOTS, { recursive: true });
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const page: Page = await browser.newPage();
      await page.authenticate({ username: USER, password: PASS });
      const origin = `http://127.0.0.1:${port}`;
      const elsewhere: string[] = [];
      const problems: string[] = [];
      let open = 0;
      let most = 0;
      let streams = 0;
      page.on('request', (r) => {
        if (!r.url().startsWith(origin)) elsewhere.push(r.url());
        if (r.resourceType() === 'eventsource') {
          streams++;
          most = Math.max(most, ++open);
        }
      });
      const closed = (r: { resourceType(): string }) => void (r.resourceType() === 'eventsource' && open--);
      page.on('requestfinished', closed);
      page.on('requestfailed', closed);
      // A failed load shows twice, as a response and as a console line; the response names it.
      const refused: string[] = [];
      page.on('response', (r) => r.status() >= 400 && r.status() !== 401 && refused.push(`${r.status()} ${r.url()}`));
      page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('dialog', (d) => {
        if (d.type() === 'confirm') void d.accept();
        else {
          problems.push(`dialog: ${d.message()}`);
          void d.dismiss();
        }
      });
      await page.setViewport({ width: 1280, height: 800 });
      await page.goto(`${origin}/`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('html[data-live="1"]', { timeout: WAIT });
      const rowState = (name: string, state: string) => page.waitForSelector(`tr[data-process="${name}"][data-state="${state}"]`, { timeout: WAIT });
      const click = (name: string, action: string) => page.click(`tr[data-process="${name}"] button[data-action="${action}"]`);

      // Health and what a process waits for, live: db turns healthy, then api starts.
      await page.waitForFunction(() => document.querySelector('tr[data-process="db"] .health .h')!.textContent!.match(/^unhealthy: .*db is not ready/), { timeout: WAIT });
      assert.match(await page.$eval('tr[data-process="api"] .health .w', (el) => el.textContent!), /db/);
      assert.equal(await page.$eval('tr[data-process="db"]', (el) => (el as HTMLElement).dataset.failing), '1');
      await page.screenshot({ path: path.join(SHOTS, 'desktop-unhealthy.png'), fullPage: true });
      writeFileSync(path.join(dir, 'db-ok'), '');
      await page.waitForFunction(() => document.querySelector('tr[data-process="db"] .health .h')!.textContent === 'healthy', { timeout: WAIT });
      await rowState('api', 'RUNNING');
      assert.equal(await page.$eval('tr[data-process="api"] .health .w', (el) => el.textContent), '');

      // Start and stop idle with its buttons; the row follows the real process.
      await click('idle', 'start');
      await rowState('idle', 'RUNNING');
      const idlePid = (await status(port)).get('idle')!.pid;
      assert.ok(existsSync(`/proc/${idlePid}`));
      await page.waitForFunction((pid) => document.querySelector('tr[data-process="idle"] .desc')!.textContent!.startsWith(`pid ${pid}, uptime`), { timeout: WAIT }, idlePid);
      await click('idle', 'stop');
      await rowState('idle', 'STOPPED');
      assert.equal((await status(port)).get('idle')!.state, 'STOPPED');

      // Restart web: a new pid, shown live.
      const webPid = (await status(port)).get('web')!.pid;
      await click('web', 'restart');
      await page.waitForFunction(
        (pid) => {
          const tr = document.querySelector('tr[data-process="web"]') as HTMLElement;
          return tr.dataset.state === 'RUNNING' && /^pid \d+/.test(tr.querySelector('.desc')!.textContent!) && !tr.querySelector('.desc')!.textContent!.startsWith(`pid ${pid},`);
        },
        { timeout: WAIT },
        webPid,
      );
      await rm.waitFor(/web[^\n]*ready[^]*web[^\n]*ready/, WAIT);

      // A live tail: recent output as text, then what the program prints next.
      await click('web', 'tail');
      const stdout = 'tr.tail pre[data-stream="stdout"]';
      await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('<script>alert(1)</script><b>bold</b>'), { timeout: WAIT }, stdout);
      assert.equal(await page.$$eval('tr.tail pre script, tr.tail pre b', (els) => els.length), 0, 'output is text, not markup');
      await page.waitForFunction(() => document.querySelector('tr.tail pre[data-stream="stderr"]')?.textContent?.includes('to stderr'), { timeout: WAIT });
      const signalled = await http(port, 'POST', '/v1/signal', { body: '{"names":["web"],"signal":"USR1"}', headers: { 'content-type': 'application/json' } });
      assert.equal(signalled.status, 200, signalled.body);
      await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('got-usr1'), { timeout: WAIT }, stdout);
      await page.screenshot({ path: path.join(SHOTS, 'desktop-tail.png'), fullPage: true });

      // Clear log: the tail empties, and the log is empty on the server.
      await click('web', 'clear');
      await page.waitForFunction((sel) => document.querySelector(sel)!.textContent === '', { timeout: WAIT }, stdout);
      const logAfter = await http(port, 'GET', '/v1/tail?name=web');
      assert.equal(logAfter.body, '');
      await click('web', 'tail'); // closes it
      await page.waitForFunction(() => !document.querySelector('tr.tail'), { timeout: WAIT });

      // Filters: by name, by state, failing first; the address keeps them.
      await page.type('#filters input[name="q"]', 'work');
      await page.waitForFunction(() => [...document.querySelectorAll('#procs tr[data-process]')].filter((tr) => !(tr as HTMLElement).hidden).length === 2, { timeout: WAIT });
      assert.match(page.url(), /\?q=work$/);
      await page.$eval('#filters input[name="q"]', (el) => {
        (el as HTMLInputElement).value = '';
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await page.select('#filters select[name="state"]', 'failing');
      await page.waitForFunction(() => {
        const shown = [...document.querySelectorAll('#procs tr[data-process]')].filter((tr) => !(tr as HTMLElement).hidden);
        return shown.length === 1 && (shown[0] as HTMLElement).dataset.process === 'flaky';
      }, { timeout: WAIT });
      await page.select('#filters select[name="state"]', '');
      await page.click('#filters input[name="order"]');
      await page.waitForFunction(() => (document.querySelector('#procs tr[data-process]') as HTMLElement).dataset.process === 'flaky', { timeout: WAIT });
      await page.screenshot({ path: path.join(SHOTS, 'desktop.png'), fullPage: true });

      // A reload that adds a program and removes one: the page resyncs, rows come and go; the
      // removed one was being tailed: its stream is refused (404), and the page carries on without it.
      await click('idle', 'tail');
      await page.waitForSelector('tr.tail', { timeout: WAIT });
      writeFileSync(configFile, CONFIG(dir, port).replace(/  idle:\n(?:    .*\n)+/, '  added:\n    command: ["sleep", "1000"]\n    startsecs: 0\n'));
      assert.equal((await http(port, 'POST', '/v1/reload', { body: '{}', headers: { 'content-type': 'application/json' } })).status, 200);
      await rowState('added', 'RUNNING');
      await page.waitForFunction(() => !document.querySelector('tr[data-process="idle"]') && !document.querySelector('tr.tail'), { timeout: WAIT });
      await page.waitForSelector('html[data-live="1"]', { timeout: WAIT });

      // For all: restart all (confirmed), then stop all.
      const before = await status(port);
      await page.click('button[data-action="restartall"]');
      await until(port, 'every running process restarted', (s) =>
        ['web', 'workers:workers_00', 'workers:workers_01'].every((n) => s.get(n)!.state === 'RUNNING' && s.get(n)!.pid !== before.get(n)!.pid));
      // flaky cannot start (it exits 3): restart all says so, beside what it did restart.
      await page.waitForFunction(() => /^flaky: ERROR \(/.test(document.querySelector('#msg')!.textContent!), { timeout: WAIT });
      assert.equal(await page.$eval('#msg', (el) => el.className), 'error');
      await page.click('button[data-action="stopall"]');
      for (const name of ['web', 'added', 'workers:workers_00', 'workers:workers_01', 'db', 'api']) await rowState(name, 'STOPPED');
      await page.waitForFunction(() => document.querySelector('#msg')!.textContent === 'All: stopped', { timeout: WAIT });
      await until(port, 'all stopped', (s) => [...s.values()].every((p) => p.pid === 0));

      // The same buttons with JavaScript off: the browser posts the form and follows the 303.
      // (A window of its own: a second tab in the first window would hide the first, which then
      // closes its stream until shown again.)
      const plainWindow = await browser.createBrowserContext();
      const plain = await plainWindow.newPage();
      await plain.setJavaScriptEnabled(false);
      await plain.authenticate({ username: USER, password: PASS });
      await plain.goto(`${origin}/?q=add`, { waitUntil: 'load' });
      await Promise.all([plain.waitForNavigation({ timeout: WAIT }), plain.click('tr[data-process="added"] button[data-action="start"]')]);
      assert.equal(plain.url(), `${origin}/?q=add&msg=added%3A+started`);
      assert.equal(await plain.$eval('#msg', (el) => el.textContent), 'added: started');
      await until(port, 'added RUNNING', (s) => s.get('added')!.state === 'RUNNING');
      await Promise.all([plain.waitForNavigation({ timeout: WAIT }), plain.click('tr[data-process="added"] button[data-action="tail"]')]);
      assert.equal(plain.url(), `${origin}/web/tail?name=added`);
      assert.equal(await plain.$eval('h1', (el) => el.textContent), 'added');
      await plainWindow.close();
      assert.equal((await status(port)).get('added')!.state, 'RUNNING', 'opening the tail page did nothing');

      // One stream per tab. Opening or closing a tail swaps it (close, then open): the browser may
      // report the old one's end just after the new one's start, so the peak may read 2 for a moment.
      assert.ok(most <= 2, `${most} event streams open at once`);
      assert.equal(open, 1, 'one event stream open');
      // The first, one per tail opened or closed (3), the reload's resync (refused: its tail is gone), one without the tail.
      assert.equal(streams, 6, 'streams opened');

      // A phone (puppeteer reloads the page for a mobile viewport).
      await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
      await page.screenshot({ path: path.join(SHOTS, 'phone.png'), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);

      assert.deepEqual(elsewhere, [], 'no request leaves the origin');
      assert.deepEqual(problems, [], 'no script error, no CSP violation');
      assert.deepEqual(refused, [`404 ${origin}/web/events?tail=idle`], 'nothing refused but the tail of the removed program');

    } finally {
      const proc = browser?.process();
      await browser?.close().catch(() => {});
      if (proc?.pid && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
    }
  });
});
