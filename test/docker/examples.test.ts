// Every example of compose-examples/ run in a real Docker engine (issue #13): the compose one with
// docker-compose up --build, nginx-app built from its Dockerfile, basic's config in ringmaster's
// image, and the Kubernetes manifest's config and environment in the example's image, its probes'
// endpoints answered as the manifest expects. Containers and compose projects are named by this
// file and removed by those names.
//
// The engine runs without a bridge (no network but loopback for containers), so the compose file is
// run with its network part changed: no published port, `network_mode: none`, the build on the
// host's network (its apt-get reaches the Debian mirror). Everything else is the example's own:
// Dockerfile, ringmaster.yaml, environment, stop_grace_period, init. Web servers are asked from
// inside the container (busybox wget on 127.0.0.1).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import {
  ENV, IMAGE, ROOT, buildImage, configFile, docker, dockerOk, exec, inspect, linesOf, logs,
  releaseEngine, removeContainers, runDetached, skip, waitFor, waitLog,
} from './support';

const EXAMPLES = path.join(ROOT, 'compose-examples');
/** The examples' images keep these names between runs (rebuilt each run, their layers cached). */
const COMPOSE_IMAGE = 'rmtest-example-compose';

/** Seconds of a duration as compose and ringmaster write it ("40s", "1m30s", 25). */
function seconds(v: string | number): number {
  if (typeof v === 'number') return v;
  let s = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) s += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return s;
}

/** GET a URL from inside the container with the image's busybox wget: the body, or undefined
 *  (any status but 2xx/3xx). No -T: Debian's busybox 1.35 wget dies of SIGSEGV with it. */
async function wget(name: string, url: string): Promise<string | undefined> {
  const r = await docker(['exec', name, 'busybox', 'wget', '-q', '-O', '-', url], { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout : undefined;
}

function kubernetes() {
  const docs = parseAllDocuments(readFileSync(path.join(EXAMPLES, 'kubernetes', 'ringmaster.yaml'), 'utf8')).map((d) => d.toJS());
  const pod = docs.find((d) => d.kind === 'Deployment').spec.template.spec;
  return {
    config: docs.find((d) => d.kind === 'ConfigMap').data['ringmaster.yaml'] as string,
    pod,
    app: pod.containers.find((c: { name: string }) => c.name === 'app'),
    sidecar: pod.initContainers.find((c: { restartPolicy?: string }) => c.restartPolicy === 'Always'),
  };
}

describe('compose-examples/ in Docker', { skip }, () => {
  before(buildImage, { timeout: 20 * 60_000 });
  after(async () => {
    await removeContainers();
    releaseEngine();
  });

  it('no example is left out', () => {
    assert.deepEqual(readdirSync(EXAMPLES).sort(), ['basic', 'compose', 'kubernetes', 'nginx-app']);
  });

  it('every example keeps ringmaster\'s shutdown inside the container runtime\'s grace: stopwaitsecs <= shutdown_timeout, shutdown_delay + shutdown_timeout < grace', () => {
    const compose = parse(readFileSync(path.join(EXAMPLES, 'compose', 'docker-compose.yml'), 'utf8'));
    const k8s = kubernetes();
    const cases: Array<[string, string, number]> = [
      // `docker run` / `docker stop` without -t: Docker's default grace of 10 s.
      ['basic', readFileSync(path.join(EXAMPLES, 'basic', 'ringmaster.yaml'), 'utf8'), 10],
      ['nginx-app', readFileSync(path.join(EXAMPLES, 'nginx-app', 'ringmaster.yaml'), 'utf8'), 10],
      ['compose', readFileSync(path.join(EXAMPLES, 'compose', 'ringmaster.yaml'), 'utf8'), seconds(compose.services.app.stop_grace_period)],
      ['kubernetes', k8s.config, k8s.pod.terminationGracePeriodSeconds],
    ];
    for (const [name, text, grace] of cases) {
      const config = parse(text);
      const shutdown = seconds(config.settings?.shutdown_timeout ?? '30s');
      // shutdown_delay (SPEC §10) comes before the ordered stop, so both fit in the grace.
      const delay = seconds(config.settings?.shutdown_delay ?? 0);
      assert.ok(delay + shutdown < grace, `${name}: shutdown_delay ${delay} s + shutdown_timeout ${shutdown} s is not below the grace of ${grace} s`);
      // A stopwaitsecs left at its default (10 s) is cut at shutdown_timeout, which is still a clean
      // end; one that is set says how long the program needs, so it must fit.
      for (const [program, p] of Object.entries<{ stopwaitsecs?: number | string }>(config.programs)) {
        if (p.stopwaitsecs === undefined) continue;
        const wait = seconds(p.stopwaitsecs);
        assert.ok(wait <= shutdown, `${name}: ${program}'s stopwaitsecs ${wait} s is above shutdown_timeout ${shutdown} s`);
      }
    }
  });

  it('basic: its config in ringmaster\'s image runs every program; docker stop (default grace) exits 0 with the summary', async () => {
    const name = await runDetached('basic', ['-v', `${path.join(EXAMPLES, 'basic', 'ringmaster.yaml')}:/etc/ringmaster.yaml:ro`, IMAGE]);
    await waitLog(name, /^migrate +\| migrations done$/m);
    await waitLog(name, /^web +\| listening on :8080$/m);
    await waitLog(name, /^worker_00 +\| job 1 done by worker_00$/m);
    await waitLog(name, /^worker_01 +\| job 1 done by worker_01$/m);
    await dockerOk(['stop', name], { timeoutMs: 60_000 });
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
    const own = linesOf((await logs(name)).stdout, 'ringmaster');
    for (const p of ['migrate', 'web', 'worker_00', 'worker_01']) assert.ok(own.some((l) => l.startsWith(`${p}: `)), `${p}'s summary line`);
    assert.equal(own.at(-1), 'exiting with code 0');
  });

  it('compose: docker-compose up --build runs migrate, web and worker (each in the logs, web answering); stop exits 0; down exits 0', async () => {
    const dir = path.join(EXAMPLES, 'compose');
    const file = parse(readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8'));
    const app = file.services.app;
    delete app.ports;
    app.network_mode = 'none';
    app.build = { context: dir, network: 'host' };
    // A stable name, kept: the next run's build reuses its apt-get layer (the Kubernetes test too).
    app.image = COMPOSE_IMAGE;
    const tmp = mkdtempSync(path.join(tmpdir(), 'rm-compose-'));
    const composeFile = path.join(tmp, 'docker-compose.yml');
    writeFileSync(composeFile, stringify(file));
    const project = `rmtest${process.pid}`;
    const compose = (...args: string[]) => ['docker-compose', '-p', project, '-f', composeFile, '--project-directory', dir, ...args];
    const up = spawn(compose('up', '--build', '--no-color')[0], compose('up', '--build', '--no-color').slice(1), {
      cwd: dir, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    up.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    up.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const upEnded = new Promise<number | null>((resolve) => up.on('close', (code) => resolve(code)));
    try {
      // compose prefixes each line with the container (`app_1  | `), ringmaster with the program.
      const seen = (re: RegExp) => waitFor(`${re} in docker-compose up's output`, async () => (re.test(out) ? true : undefined), 10 * 60_000, 500);
      await seen(/\| migrate +\| migrations done/);
      await seen(/\| worker +\| job 1 done/);
      assert.match(out, /\| ringmaster +\| web is healthy/);
      const id = (await exec(compose('ps', '-q', 'app'), { cwd: dir })).stdout.trim();
      assert.match(id, /^[0-9a-f]{12,}$/);
      assert.equal(await wget(id, 'http://127.0.0.1:8080/'), readFileSync(path.join(dir, 'www', 'index.html'), 'utf8'));
      await waitFor('web in the logs', async () => (/\| web +\| /.test(out) ? true : undefined), 30_000);
      const stop = await exec(compose('stop'), { cwd: dir, timeoutMs: 120_000 });
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(await inspect(id, '{{.State.ExitCode}}'), '0');
      assert.equal(await Promise.race([upEnded, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]), 0, out);
      for (const p of ['migrate', 'web', 'worker']) assert.match(out, new RegExp(`\\| ringmaster +\\| ${p}: (STOPPED|EXITED), `));
      const down = await exec(compose('down'), { cwd: dir, timeoutMs: 120_000 });
      assert.equal(down.code, 0, down.stderr);
    } finally {
      try {
        process.kill(-up.pid!, 'SIGKILL');
      } catch {
        // ended
      }
      await exec(compose('down'), { cwd: dir, timeoutMs: 120_000 });
    }
  });

  it('nginx-app: built from its Dockerfile, nginx proxies to the app; docker stop (nginx gets QUIT) exits 0', async () => {
    const image = 'rmtest-example-nginx-app';
    await dockerOk(['build', '--network=host', '--build-arg', `RINGMASTER_IMAGE=${IMAGE}`, '-t', image, path.join(EXAMPLES, 'nginx-app')], { timeoutMs: 10 * 60_000 });
    try {
      const name = await runDetached('nginx-app', [image]);
      await waitLog(name, /nginx entered RUNNING/);
      await waitLog(name, /app entered RUNNING/);
      const index = readFileSync(path.join(EXAMPLES, 'nginx-app', 'app', 'index.html'), 'utf8');
      assert.equal(await waitFor('nginx to answer', () => wget(name, 'http://127.0.0.1:80/'), 30_000), index);
      // nginx's access log is its stdout, so the request shows under nginx's name.
      await waitLog(name, /^nginx +\| .*"GET \/ HTTP\/1\.1" 200/m);
      await dockerOk(['stop', name], { timeoutMs: 60_000 });
      assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
      const own = linesOf((await logs(name)).stdout, 'ringmaster');
      assert.ok(own.indexOf('stopping nginx') < own.indexOf('stopping app'), own.join('\n'));
      assert.match(own.find((l) => l.startsWith('nginx: ')) ?? '', /^nginx: STOPPED, exit code 0/);
    } finally {
      await removeContainers();
    }
  });

  it('kubernetes: the ConfigMap\'s config with the Deployment\'s env in the example image; /readyz and /healthz answer as the probes expect; the sidecar tails the shared volume; stops exit cleanly within the grace', async () => {
    const k8s = kubernetes();
    // The example's image (compose-examples/compose/Dockerfile), as the manifest says.
    const image = COMPOSE_IMAGE;
    await dockerOk(['build', '--network=host', '-t', image, path.join(EXAMPLES, 'compose')], { timeoutMs: 10 * 60_000 });
    const volume = `rmtest-${process.pid}-k8s-logs`;
    try {
      await dockerOk(['volume', 'create', volume]);
      const env = (k8s.app.env as Array<{ name: string; value: string }>).flatMap((e) => ['-e', `${e.name}=${e.value}`]);
      const configPath = (k8s.app.env as Array<{ name: string; value: string }>).find((e) => e.name === 'RINGMASTER_CONFIG')!.value;
      const mounts = ['-v', `${configFile(k8s.config)}:${configPath}:ro`, '-v', `${volume}:/var/log/app`];
      const name = await runDetached('k8s-app', [...env, ...mounts, image]);
      // Each probe at the port its manifest names.
      const portOf = (p: number | string) =>
        typeof p === 'number' ? p : (k8s.app.ports as Array<{ name: string; containerPort: number }>).find((x) => x.name === p)!.containerPort;
      const probe = (kind: string) => `http://127.0.0.1:${portOf(k8s.app[kind].httpGet.port)}${k8s.app[kind].httpGet.path}`;
      const bound = k8s.app.startupProbe.periodSeconds * k8s.app.startupProbe.failureThreshold * 1000;
      await waitFor('the startup probe to pass', () => wget(name, probe('startupProbe')), bound, 1000);
      assert.notEqual(await wget(name, probe('readinessProbe')), undefined);
      assert.notEqual(await wget(name, probe('livenessProbe')), undefined);
      const own = linesOf((await logs(name)).stdout, 'ringmaster');
      // Ready only after the migration completed and web passed its check.
      assert.ok(own.some((l) => l === 'web is healthy'), own.join('\n'));
      const webPort = (k8s.app.ports as Array<{ name: string; containerPort: number }>).find((x) => x.name === 'http')!.containerPort;
      assert.match((await wget(name, `http://127.0.0.1:${webPort}/`)) ?? '', /\S/);

      // The sidecar: ringmaster in single-command mode with its args, on the same volume.
      const sidecar = await runDetached('k8s-sidecar', ['-v', `${volume}:/var/log/app`, image, ...k8s.sidecar.args]);
      await waitFor('the sidecar to tail', async () => (/^\s*\d+\s+tail -F /m.test((await docker(['top', sidecar, '-o', 'pid,args'])).stdout) ? true : undefined));
      await dockerOk(['exec', name, 'sh', '-c', 'echo hello from web >> /var/log/app/web.log']);
      await waitLog(sidecar, /^hello from web$/m);

      const grace = String(k8s.pod.terminationGracePeriodSeconds);
      await dockerOk(['stop', '-t', grace, name], { timeoutMs: 120_000 });
      assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
      assert.equal(linesOf((await logs(name)).stdout, 'ringmaster').at(-1), 'exiting with code 0');
      await dockerOk(['stop', '-t', grace, sidecar], { timeoutMs: 120_000 });
      // tail ended by the forwarded TERM: single-command mode passes 128+15 through.
      assert.equal(await inspect(sidecar, '{{.State.ExitCode}}'), '143');
    } finally {
      await removeContainers();
      await docker(['volume', 'rm', volume]);
    }
  });
});
