// Issue #12, the control plane's share: what valid but hostile calls could do to ringmaster, each
// reproduced against the built binary and checked to be refused or bounded.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, httpUnix } from './support/http';
import { Ringmaster, eventually, tempDir, writeConfig } from './support/ringmaster';
import { fault, rpc, value } from './support/xmlrpc';

const NODE = JSON.stringify(process.execPath);

/** VmHWM (peak resident memory) of a pid, in MB. */
function peakMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

function raw(socket: string, method: string, urlPath: string, body?: Buffer): Promise<{ status: number; body: string; headersAt: number }> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    // A body with its length: a GET's body is not chunked by node's client, so unframed it would be read as the next request.
    const headers = body ? { 'content-length': String(body.length) } : {};
    const req = request({ socketPath: socket, method, path: urlPath, headers }, (res) => {
      const headersAt = Date.now() - start;
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headersAt }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('hardening: the control plane (issue #12)', () => {
  const dir = tempDir('rm-hard-');
  const socket = path.join(dir, 'rm.sock');
  let port = 0;
  let rm: Ringmaster;
  let pid = 0;

  before(async () => {
    port = await freePort();
    rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}, http: "127.0.0.1:${port}"}
programs:
  big: {command: [${NODE}, "-e", "process.stdout.write('x'.repeat(70000) + '\\\\n'); setInterval(() => {}, 100000)"], startsecs: 0}
  deaf: {command: sleep 1000, startsecs: 0}
  quiet: {command: sleep 1000, startsecs: 0}
  secret: {command: sleep 1000, startsecs: 0, healthcheck: {exec: "sh -c 'echo postgres://app:hunter2@db; exit 1'", interval: 200ms, retries: 1}}
`, dir)] });
    await eventually(() => existsSync(socket), 10_000, 'the control socket');
    await rm.waitFor(/secret is unhealthy/);
    pid = await rm.ringmasterPid();
  });

  after(async () => {
    await rm.signal('SIGTERM').catch(() => {});
    await rm.wait();
  });

  it('#2: one multicall is bounded: at most 1000 calls, and the answers stop growing at 16 MiB', () => {
    const calls = Array.from({ length: 400 }, () => ({ methodName: 'supervisor.readProcessStdoutLog', params: ['big', -65536, 0] }));
    const [r] = rpc(socket, ['system.multicall', [calls]]);
    const results = r.value as Array<string | { faultCode: number; faultString: string }>;
    assert.equal(results.length, 400);
    const served = results.filter((x) => typeof x === 'string');
    const refused = results.filter((x) => typeof x !== 'string') as Array<{ faultCode: number; faultString: string }>;
    assert.ok(served.length >= 200 && served.length <= 300, `${served.length} log reads served`);
    assert.ok(refused.length > 0 && refused.every((f) => f.faultCode === 30 && /not run: the answers of this multicall passed/.test(f.faultString)));
    assert.ok(peakMb(pid) < 400, `peak RSS ${peakMb(pid)} MB`);
    const tooMany = Array.from({ length: 1001 }, () => ({ methodName: 'supervisor.getPID', params: [] }));
    fault(socket, 2, /^INCORRECT_PARAMETERS: at most 1000 calls/, 'system.multicall', tooMany);
  });

  it('#3: sendProcessStdin to a program that never reads is refused once 1 MiB waits for it', () => {
    const mib = 'y'.repeat(1024 * 1024);
    const results = rpc(socket, ...Array.from({ length: 6 }, () => ['supervisor.sendProcessStdin', ['deaf', mib]] as [string, unknown[]]));
    assert.equal(results[0].value, true);
    const refused = results.filter((x) => x.fault !== undefined);
    assert.ok(refused.length >= 3, JSON.stringify(results.map((x) => x.fault ?? x.value)));
    assert.ok(refused.every((x) => x.fault === 30 && /deaf is not reading its stdin/.test(x.string!)));
  });

  it('#17: methods are looked up in own properties only', () => {
    const before = rm.stdout.length + rm.stderr.length;
    fault(socket, 1, /^UNKNOWN_METHOD$/, '__proto__.toString');
    fault(socket, 1, /^UNKNOWN_METHOD$/, 'constructor.name');
    fault(socket, 4, /^SIGNATURE_UNSUPPORTED$/, 'system.methodHelp', '__proto__.toString');
    assert.equal(`${rm.stdout}${rm.stderr}`.slice(before).includes('    at '), false, 'no stack trace printed');
  });

  it('#18: /v1/signal takes a signal name or number only', async () => {
    const pids = async () => JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body).processes.map((p: { pid: number }) => p.pid);
    const was = await pids();
    for (const signal of [{ toString: 'x' }, ['HUP'], null, true, 1.5, '']) {
      const r = await httpUnix(socket, 'POST', '/v1/signal', JSON.stringify({ names: ['quiet'], signal }));
      assert.equal(r.status, 400, `${JSON.stringify(signal)}: ${r.body}`);
    }
    assert.deepEqual(await pids(), was);
  });

  it('#19: the open /readyz gives states only; a failing check\'s output stays behind credentials', async () => {
    const open = await fetch(`http://127.0.0.1:${port}/readyz`);
    const text = await open.text();
    assert.equal(open.status, 503);
    assert.match(text, /secret is RUNNING but unhealthy/);
    assert.equal(text.includes('hunter2'), false, text);
    assert.match((await httpUnix(socket, 'GET', '/readyz')).body, /hunter2/, 'the socket (mode 0700) is trusted');
  });

  it('#22: HEAD on the probes, /logtail headers at once, a refused /RPC2 body read before the answer, many event subscribers', async () => {
    for (const p of ['/healthz', '/readyz', '/metrics']) {
      const r = await raw(socket, 'HEAD', p);
      assert.ok(r.status === 200 || (p === '/readyz' && r.status === 503), `${p}: ${r.status}`);
      assert.equal(r.body, '');
    }
    const tail = await new Promise<number>((resolve, reject) => {
      const start = Date.now();
      const req = request({ socketPath: socket, path: '/logtail/quiet' }, (res) => {
        resolve(Date.now() - start);
        res.destroy();
      });
      req.setTimeout(5000, () => req.destroy(new Error('no headers from /logtail of a quiet program')));
      req.on('error', reject).end();
    });
    assert.ok(tail < 5000);
    const r = await raw(socket, 'GET', '/RPC2', Buffer.alloc(2 * 1024 * 1024, 'a'));
    assert.equal(r.status, 400);
    const subscribers = Array.from({ length: 12 }, () => request({ socketPath: socket, path: '/v1/events' }));
    await Promise.all(subscribers.map((req) => new Promise((resolve) => req.on('response', resolve).end())));
    assert.equal(value(socket, 'supervisor.stopProcess', 'quiet'), true);
    for (const req of subscribers) req.destroy();
    assert.doesNotMatch(rm.stderr, /MaxListenersExceeded/);
  });
});
