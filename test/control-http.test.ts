// SPEC §6 and issue #5 item 1: the TCP listener on settings.http. Probes and /metrics are open;
// the JSON API and XML-RPC need HTTP Basic credentials (plain or {SHA}); without configured
// credentials only the open three are served.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ringmaster, tempDir, writeConfig } from './support/ringmaster';
import { NO_SUPERVISOR, supervisorctl } from './support/supervisord';
import { freePort } from './support/http';


function get(port: number, urlPath: string, auth?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {};
    const req = request({ host: '127.0.0.1', port, path: urlPath, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function withRingmaster(settings: string, body: (port: number, rm: Ringmaster) => Promise<void>, port?: number): Promise<void> {
  const p = port ?? (await freePort());
  const dir = tempDir('rm-http-');
  const rm = new Ringmaster({
    args: ['-c', writeConfig(`settings:\n  socket: ${path.join(dir, 'rm.sock')}\n  http: "127.0.0.1:${p}"\n${settings}programs:\n  web: {command: sleep 1000, startsecs: 0}\n`, dir)],
  });
  try {
    await rm.waitFor(/web entered RUNNING/);
    await body(p, rm);
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
  } finally {
    rm.kill();
  }
}

describe('settings.http (SPEC §6)', () => {
  it('plain credentials: probes open, the API needs them, 401 says Basic realm', async () => {
    await withRingmaster('  http_username: admin\n  http_password: s3cret\n', async (port) => {
      assert.equal((await get(port, '/healthz')).status, 200);
      assert.equal((await get(port, '/readyz')).status, 200);
      const denied = await get(port, '/v1/status');
      assert.equal(denied.status, 401);
      assert.equal(denied.headers['www-authenticate'], 'Basic realm="default"');
      assert.equal((await get(port, '/v1/status', 'admin:wrong')).status, 401);
      assert.equal((await get(port, '/v1/status', 'root:s3cret')).status, 401);
      const ok = await get(port, '/v1/status', 'admin:s3cret');
      assert.equal(ok.status, 200);
      assert.equal(JSON.parse(ok.body).processes[0].name, 'web');
    });
  });

  it('{SHA} credentials work with the real supervisorctl over TCP', { skip: NO_SUPERVISOR }, async () => {
    const sha = createHash('sha1').update('pa:ss word').digest('hex');
    await withRingmaster(`  http_username: admin\n  http_password: "{SHA}${sha}"\n`, async (port) => {
      const url = `http://127.0.0.1:${port}`;
      const ok = await supervisorctl(url, ['status'], ['-u', 'admin', '-p', 'pa:ss word']);
      assert.equal(ok.code, 0, ok.out);
      assert.match(ok.out, /^web\s+RUNNING\s+pid \d+, uptime /);
      const bad = await supervisorctl(url, ['status'], ['-u', 'admin', '-p', sha]);
      assert.match(bad.out, /Server requires authentication/);
      assert.notEqual(bad.code, 0);
      assert.equal((await get(port, '/v1/status', `admin:{SHA}${sha}`)).status, 401, 'the hash itself is not the password');
    });
  });

  it('without credentials only /healthz, /readyz and /metrics are served', async () => {
    await withRingmaster('', async (port, rm) => {
      assert.equal((await get(port, '/healthz')).status, 200);
      assert.equal((await get(port, '/readyz')).status, 200);
      assert.equal((await get(port, '/v1/status')).status, 403);
      assert.equal((await get(port, '/RPC2')).status, 403);
      assert.equal((await get(port, '/logtail/web')).status, 403);
      assert.match(rm.stdout, /listening on http:\/\/127\.0\.0\.1:\d+ \(probes and \/metrics only/);
    });
  });

  it('a port in use is a warning, not a failed start', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      await withRingmaster('', async (_port, rm) => {
        assert.match(rm.stderr, new RegExp(`cannot listen on settings.http 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      }, port);
    } finally {
      blocker.close();
    }
  });
});
