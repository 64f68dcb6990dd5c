// compose-examples/kubernetes (SPEC §7, §6): the manifest's parts agree with each other and with
// ringmaster's config: probes on /healthz and /readyz at the port settings.http listens on, the
// migration as a `completed` dependency, and a grace period longer than shutdown_delay + shutdown_timeout.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config';
import { ROOT, tempDir } from './support/ringmaster';

const MANIFEST = path.join(ROOT, 'compose-examples', 'kubernetes', 'ringmaster.yaml');

interface Container {
  name: string;
  env?: Array<{ name: string; value: string }>;
  ports?: Array<{ containerPort: number; name?: string }>;
  startupProbe?: { httpGet: { path: string; port: number | string } };
  readinessProbe?: { httpGet: { path: string; port: number | string } };
  livenessProbe?: { httpGet: { path: string; port: number | string } };
}

function parts() {
  const docs = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS());
  const configText: string = docs.find((d) => d.kind === 'ConfigMap').data['ringmaster.yaml'];
  const pod = docs.find((d) => d.kind === 'Deployment').spec.template.spec;
  const app: Container = pod.containers.find((c: Container) => c.name === 'app');
  const file = path.join(tempDir('rm-k8s-'), 'ringmaster.yaml');
  writeFileSync(file, configText);
  const env = Object.fromEntries((app.env ?? []).map((e) => [e.name, e.value]));
  // The config as the pod reads it: its file and the container's environment.
  const config = loadConfig({ file, env, cwd: path.dirname(file) });
  return { pod, app, env, config };
}

describe('compose-examples/kubernetes manifest', () => {
  it('probes /healthz (liveness) and /readyz (startup, readiness) on the port settings.http listens on', () => {
    const { app, env } = parts();
    const http = parts().config.settings.http;
    assert.deepEqual(http, { host: '0.0.0.0', port: 9001 }, `RINGMASTER_HTTP=${env.RINGMASTER_HTTP}`);
    const listenPort = http.port;
    const portOf = (p: number | string) => (typeof p === 'number' ? p : app.ports?.find((x) => x.name === p)?.containerPort);
    assert.equal(app.livenessProbe?.httpGet.path, '/healthz');
    assert.equal(app.readinessProbe?.httpGet.path, '/readyz');
    assert.equal(app.startupProbe?.httpGet.path, '/readyz');
    for (const probe of [app.livenessProbe, app.readinessProbe, app.startupProbe]) assert.equal(portOf(probe!.httpGet.port), listenPort);
  });

  it('the migration is a one-shot that web waits for with condition completed; the worker waits for web healthy', () => {
    const { config } = parts();
    const program = (n: string) => config.programs.find((p) => p.name === n)!;
    assert.equal(program('migrate').startsecsMs, 0);
    assert.equal(program('migrate').autorestart, false);
    assert.deepEqual(program('web').dependsOn.map((d) => [d.program, d.condition]), [['migrate', 'completed']]);
    assert.equal(program('web').critical, true);
    assert.ok(program('web').healthcheck?.liveness);
    assert.deepEqual(program('worker').dependsOn.map((d) => [d.program, d.condition]), [['web', 'healthy']]);
  });

  it('terminationGracePeriodSeconds is longer than shutdown_delay + shutdown_timeout, so the kubelet never cuts the shutdown short', () => {
    const { pod, config } = parts();
    const { shutdownDelayMs, shutdownTimeoutMs } = config.settings;
    // The delay lets the endpoint removal propagate before anything stops (SPEC §10).
    assert.ok(shutdownDelayMs >= 1000, `shutdown_delay ${shutdownDelayMs}ms`);
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > shutdownDelayMs + shutdownTimeoutMs,
      `${pod.terminationGracePeriodSeconds}s vs ${shutdownDelayMs}ms + ${shutdownTimeoutMs}ms`);
  });
});
