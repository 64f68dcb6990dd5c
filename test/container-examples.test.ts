// SPEC §7: compose-examples/ holds working docker compose and Kubernetes examples, each used by a
// test. Every config there passes `ringmaster check`, and runs in the image-like root
// (test/support/rootfs.ts) with the single executable as PID 1, as the images' ENTRYPOINT would:
// programs start, the web servers answer, and SIGTERM (docker stop) ends the container with 0.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { httpUnix, freePort } from './support/http';
import { ROOT, Ringmaster, sleep, tempDir } from './support/ringmaster';
import { ENTRYPOINT, Rootfs, rootfsSkipReason } from './support/rootfs';

const EXAMPLES = path.join(ROOT, 'compose-examples');

/** The ringmaster config held by the Kubernetes manifest's ConfigMap, and the sidecar's args. */
function kubernetesParts(): { config: string; sidecarArgs: string[] } {
  const docs = parseAllDocuments(readFileSync(path.join(EXAMPLES, 'kubernetes', 'ringmaster.yaml'), 'utf8')).map((d) => d.toJS());
  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const sidecar = deployment.spec.template.spec.initContainers.find((c: { restartPolicy?: string }) => c.restartPolicy === 'Always');
  return { config: configMap.data['ringmaster.yaml'], sidecarArgs: sidecar.args };
}


/** GET a URL until it answers 200 (bounded), returning the body. */
async function getWhenUp(url: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return await res.text();
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function check(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const rm = new Ringmaster({ args: ['check', '-c', file], env });
  return rm.wait().then((exit) => ({ code: exit.code, out: rm.stdout + rm.stderr }));
}

describe('Dockerfile (SPEC §7)', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('builds in node:20-bookworm with npm ci && npm run build, runs on debian:bookworm-slim', () => {
    assert.match(dockerfile, /^FROM node:20-bookworm AS build$/m);
    assert.match(dockerfile, /^RUN npm ci\b/m);
    assert.match(dockerfile, /^RUN npm run build$/m);
    assert.match(dockerfile, /^FROM debian:bookworm-slim$/m);
  });

  it('ships only the binary and its addon, with the ENTRYPOINT the test harness mirrors', () => {
    const copies = dockerfile.split('\n').filter((l) => /^COPY --from=build /.test(l));
    assert.deepEqual(copies, ['COPY --from=build /src/dist/ringmaster /src/dist/ringmaster.node /usr/local/bin/']);
    assert.match(dockerfile, new RegExp(`^ENTRYPOINT \\["${ENTRYPOINT}"\\]$`, 'm'));
    assert.match(dockerfile, new RegExp(`^HEALTHCHECK .*CMD \\["${ENTRYPOINT}", "healthcheck"\\]$`, 'm'));
    assert.match(dockerfile, /^ENV RINGMASTER_CONFIG=\/etc\/ringmaster\.yaml$/m);
  });
});

describe('compose-examples: every config passes `ringmaster check` (SPEC §7)', () => {
  const configs = ['compose', 'nginx-app'].map((d) => path.join(EXAMPLES, d, 'ringmaster.yaml'));
  for (const file of configs) {
    it(path.relative(ROOT, file), async () => {
      const r = await check(file);
      assert.equal(r.code, 0, r.out);
    });
  }

  it('compose-examples/kubernetes/ringmaster.yaml (the ConfigMap\'s config)', async () => {
    const file = path.join(tempDir(), 'ringmaster.yaml');
    writeFileSync(file, kubernetesParts().config);
    const r = await check(file);
    assert.equal(r.code, 0, r.out);
  });

  it('no example is left untested', () => {
    assert.deepEqual(readdirSync(EXAMPLES).filter((d) => d !== 'basic').sort(), ['compose', 'kubernetes', 'nginx-app']);
  });
});

describe('compose-examples run in an image-like root with ringmaster as PID 1 (SPEC §7)', { skip: rootfsSkipReason() }, () => {
  let root: Rootfs;
  before(() => {
    root = Rootfs.create();
    root.write('/srv/www/index.html', readFileSync(path.join(EXAMPLES, 'compose', 'www', 'index.html'), 'utf8'));
    root.write('/srv/app/index.html', readFileSync(path.join(EXAMPLES, 'nginx-app', 'app', 'index.html'), 'utf8'));
  });
  after(() => root?.remove());

  async function stopsWithZero(rm: Ringmaster): Promise<void> {
    await rm.signal('SIGTERM');
    const exit = await rm.wait(30_000);
    assert.equal(exit.code, 0, `stdout:\n${rm.stdout}\nstderr:\n${rm.stderr}`);
  }

  it('compose: the migration runs once, web serves, the worker works; docker stop ends it with 0', async () => {
    const port = await freePort();
    root.write('/etc/ringmaster.yaml', readFileSync(path.join(EXAMPLES, 'compose', 'ringmaster.yaml'), 'utf8'));
    const rm = root.run({ env: { RINGMASTER_CONFIG: '/etc/ringmaster.yaml', PORT: String(port), JOB_INTERVAL: '0.2' } });
    await rm.waitFor(/^migrate +\| migrations done$/m);
    await rm.waitFor(/^worker +\| job 2 done$/m);
    assert.ok(rm.stdout.indexOf('migrations done') < rm.stdout.indexOf('spawned: web'), 'web started after the migration completed');
    assert.match(await getWhenUp(`http://127.0.0.1:${port}/`), /hello from ringmaster/);
    await stopsWithZero(rm);
    assert.match(rm.stdout, /^worker +\| worker stopping$/m);
  });

  it('nginx-app: app and the web server (busybox httpd standing in for nginx) serve; docker stop ends it with 0', async () => {
    const [webPort, appPort] = [await freePort(), await freePort()];
    root.write('/etc/ringmaster.yaml', readFileSync(path.join(EXAMPLES, 'nginx-app', 'ringmaster.yaml'), 'utf8'));
    const rm = root.run({ env: {
      WEB_COMMAND: `busybox httpd -f -p 127.0.0.1:${webPort} -h /srv/www`,
      APP_COMMAND: `busybox httpd -f -p 127.0.0.1:${appPort} -h /srv/app`,
    } });
    assert.match(await getWhenUp(`http://127.0.0.1:${appPort}/`), /hello from the app/);
    assert.match(await getWhenUp(`http://127.0.0.1:${webPort}/`), /hello from ringmaster/);
    await stopsWithZero(rm);
  });

  it('kubernetes: the ConfigMap\'s config runs as the main container\'s entrypoint; /readyz turns 200 after migrate, web and worker', async () => {
    const port = await freePort();
    root.write('/etc/ringmaster/ringmaster.yaml', kubernetesParts().config);
    const rm = root.run({ env: { RINGMASTER_CONFIG: '/etc/ringmaster/ringmaster.yaml', PORT: String(port) } });
    assert.match(await getWhenUp(`http://127.0.0.1:${port}/`), /hello from ringmaster/);
    await rm.waitFor(/^worker +\| job done$/m);
    assert.ok(rm.stdout.indexOf('migrations done') < rm.stdout.indexOf('spawned: web'), rm.stdout);
    assert.ok(rm.stdout.indexOf('web is healthy') < rm.stdout.indexOf('spawned: worker'), rm.stdout);
    const socket = root.path('/run/ringmaster.sock');
    const until = Date.now() + 10_000;
    while ((await httpUnix(socket, 'GET', '/readyz')).status !== 200) {
      if (Date.now() > until) assert.fail(`/readyz not 200: ${(await httpUnix(socket, 'GET', '/readyz')).body}`);
      await sleep(100);
    }
    // shutdown_delay: /readyz fails at once while web still serves; the second TERM skips the rest.
    await rm.signal('SIGTERM');
    await rm.waitFor(/shutdown_delay 5s, the programs keep running until then/);
    assert.equal((await httpUnix(socket, 'GET', '/readyz')).status, 503);
    assert.match(await getWhenUp(`http://127.0.0.1:${port}/`), /hello from ringmaster/);
    await stopsWithZero(rm);
  });

  it('kubernetes: the sidecar\'s args run ringmaster in single-command mode; TERM ends it with the command\'s 143', async () => {
    const { sidecarArgs } = kubernetesParts();
    assert.deepEqual(sidecarArgs.slice(0, 3), ['--grace', '5s', '--']);
    root.write('/var/log/app/.keep', '');
    const rm = root.run({ args: sidecarArgs });
    await sleep(300);
    root.write('/var/log/app/web.log', 'GET / 200\n');
    await rm.waitFor(/GET \/ 200/);
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 143);
  });
});
