// ringmaster's image in a real Docker engine (issue #13), part two: the image's HEALTHCHECK, PID-1
// reaping, `docker exec` of ringmaster ctl and of Debian's real supervisorctl, and an arbitrary
// user on a read-only root. Every container is named by this file and removed by that name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  IMAGE, buildImage, docker, dockerOk, inspect, linesOf, logs, mountConfig, releaseEngine, removeContainers,
  runDetached, skip, waitExit, waitFor, waitLog,
} from './support';

const forever = (name: string) => `["sh", "-c", "echo ${name} up; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]`;
const TWO = `programs:
  web: {command: ${forever('web')}}
  worker: {command: ${forever('worker')}}
`;

/** Wait until docker's health status of the container is `want`; the states it went through. */
async function healthBecomes(name: string, want: string): Promise<void> {
  await waitFor(`health ${want}`, async () => ((await inspect(name, '{{.State.Health.Status}}')) === want ? true : undefined), 90_000, 500);
}

describe('ringmaster in Docker: HEALTHCHECK, PID 1, docker exec, --user --read-only', { skip }, () => {
  before(buildImage, { timeout: 20 * 60_000 });
  after(async () => {
    await removeContainers();
    releaseEngine();
  });

  it('the image\'s HEALTHCHECK runs `ringmaster healthcheck` and turns healthy once every program is RUNNING', async () => {
    assert.equal(await inspect(IMAGE, '{{json .Config.Healthcheck.Test}}'), '["CMD","/usr/local/bin/ringmaster","healthcheck"]');
    // The image's check, every second instead of every 10 s so the test does not wait 30 s.
    const name = await runDetached('healthy', ['--health-interval=1s', ...mountConfig(TWO), IMAGE]);
    await healthBecomes(name, 'healthy');
    const log = JSON.parse(await inspect(name, '{{json .State.Health.Log}}')) as Array<{ ExitCode: number }>;
    assert.equal(log.at(-1)?.ExitCode, 0);
  });

  it('HEALTHCHECK turns unhealthy when a program is FATAL', async () => {
    const name = await runDetached('fatal', ['--health-interval=1s', ...mountConfig(`programs:
  web: {command: ${forever('web')}}
  broken: {command: ["sh", "-c", "echo broken; exit 3"], startretries: 0}
`), IMAGE]);
    // A program gone FATAL is an error: ringmaster's stderr (SPEC §3).
    await waitLog(name, /broken entered FATAL|gave up: broken/, 'stderr');
    await healthBecomes(name, 'unhealthy');
    assert.equal(await inspect(name, '{{.State.Running}}'), 'true', 'a non-critical FATAL program does not end the container');
  });

  it('HEALTHCHECK turns unhealthy when a program is in a crash loop', async () => {
    const name = await runDetached('crashloop', ['--health-interval=1s', ...mountConfig(`programs:
  web: {command: ${forever('web')}}
  crashy: {command: ["sh", "-c", "echo crash; exit 1"], startsecs: 0, autorestart: true}
`), IMAGE]);
    await waitFor('two crashes', async () => (linesOf((await logs(name)).stdout, 'crashy').length >= 2 ? true : undefined), 60_000);
    await healthBecomes(name, 'unhealthy');
  });

  it('as PID 1 it reaps every orphan: 0 zombies after 500', async () => {
    // Each inner sh exits at once, leaving its `sleep 0.2` to PID 1, which must reap it when it ends.
    // "reaped unknown pid" is a debug line (SPEC §3).
    const name = await runDetached('orphans', [...mountConfig(`settings: {log_level: debug}
programs:
  maker:
    command: ["sh", "-c", "i=0; while [ $i -lt 500 ]; do sh -c 'sleep 0.2 &'; i=$((i+1)); done; echo made 500 orphans; exec sleep 1000"]
`), IMAGE]);
    await waitLog(name, /made 500 orphans/, 'stdout', 180_000);
    // Every orphan ends within 0.2 s of its start; ringmaster says so for each one it reaps.
    await waitFor('500 orphans reaped', async () => {
      const reaped = linesOf((await logs(name)).stdout, 'ringmaster').filter((l) => /^reaped unknown pid \d+/.test(l));
      return reaped.length >= 500 ? true : undefined;
    }, 60_000, 500);
    const stat = await dockerOk(['exec', name, 'sh', '-c', 'cat /proc/[0-9]*/stat 2>/dev/null']);
    const states = stat.trim().split('\n').map((l) => l.slice(l.lastIndexOf(')') + 2).split(' ')[0]);
    assert.ok(states.length >= 2, stat);
    assert.equal(states.filter((s) => s === 'Z').length, 0, stat);
    assert.equal(await inspect(name, '{{.State.Running}}'), 'true');
  });

  it('docker exec … ringmaster ctl status, stop and start work against PID 1\'s socket', async () => {
    const name = await runDetached('ctl', [...mountConfig(TWO), IMAGE]);
    await waitLog(name, /web entered RUNNING/);
    await waitLog(name, /worker entered RUNNING/);
    const ctl = (...args: string[]) => docker(['exec', name, 'ringmaster', 'ctl', ...args]);
    let r = await ctl('status');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +RUNNING +pid \d+, uptime /m);
    assert.match(r.stdout, /^worker +RUNNING +pid \d+, uptime /m);
    r = await ctl('stop', 'web');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /web: stopped/);
    r = await ctl('status');
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +STOPPED/m);
    r = await ctl('start', 'web');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /web: started/);
    r = await ctl('status', 'web');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +RUNNING/m);
    await dockerOk(['stop', name]);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
  });

  it('docker exec of Debian\'s real supervisorctl against the socket works (status, stop, start)', async () => {
    // Debian's supervisor on the base, then ringmaster's binary as the image has it: the apt layer
    // stays cached when only ringmaster changes.
    const image = `${IMAGE}-supervisorctl-test`;
    await dockerOk(['build', '--network=host', '-t', image, '-'], {
      input: [
        `FROM ${IMAGE} AS ringmaster`,
        'FROM debian:bookworm-slim',
        'RUN apt-get update && apt-get install -y --no-install-recommends supervisor && rm -rf /var/lib/apt/lists/*',
        'COPY --from=ringmaster /usr/local/bin/ringmaster /usr/local/bin/ringmaster.node /usr/local/bin/',
        'ENV RINGMASTER_CONFIG=/etc/ringmaster.yaml',
        'ENTRYPOINT ["/usr/local/bin/ringmaster"]',
        '',
      ].join('\n'),
      timeoutMs: 10 * 60_000,
    });
    const name = await runDetached('supervisorctl', [...mountConfig(TWO), image]);
    await waitLog(name, /web entered RUNNING/);
    await waitLog(name, /worker entered RUNNING/);
    const sctl = (...args: string[]) => docker(['exec', name, 'supervisorctl', '-s', 'unix:///run/ringmaster.sock', ...args]);
    let r = await sctl('status');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +RUNNING +pid \d+, uptime /m);
    assert.match(r.stdout, /^worker +RUNNING +pid \d+, uptime /m);
    r = await sctl('stop', 'web');
    assert.equal(r.stdout.trim(), 'web: stopped');
    r = await sctl('status', 'web');
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +STOPPED/m);
    r = await sctl('start', 'web');
    assert.equal(r.stdout.trim(), 'web: started');
    await waitLog(name, /^web +\| web up\n(.|\n)*^web +\| web up$/m);
  });

  it('--user 12345:12345 --read-only: the programs run, one warning about the socket (stderr), exit 0 on docker stop', async () => {
    const name = await runDetached('readonly', ['--user', '12345:12345', '--read-only', ...mountConfig(TWO), IMAGE]);
    await waitLog(name, /^web +\| web up$/m);
    await waitLog(name, /^worker +\| worker up$/m);
    const { stdout, stderr } = await logs(name);
    const warnings = linesOf(stderr, 'ringmaster');
    assert.equal(warnings.length, 1, stderr);
    assert.match(warnings[0], /no control socket/);
    assert.doesNotMatch(linesOf(stdout, 'ringmaster').join('\n'), /socket/);
    // The programs run as the container's user.
    const top = await dockerOk(['top', name, '-o', 'pid,uid,args']);
    assert.match(top, /\d+ +12345 +sh -c echo web up/);
    await dockerOk(['stop', name]);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
  });

  it('--user 12345:12345 --read-only --tmpfs /run:uid=12345: the socket works for that user', async () => {
    // Docker's --tmpfs over the image's /run takes that directory's owner and mode (root, 0755;
    // mode=1777 does not change it here): another user needs uid= to create its socket there.
    const name = await runDetached('readonly-run', ['--user', '12345:12345', '--read-only', '--tmpfs', '/run:uid=12345', ...mountConfig(TWO), IMAGE]);
    await waitLog(name, /worker entered RUNNING/);
    await waitLog(name, /web entered RUNNING/);
    assert.equal(linesOf((await logs(name)).stderr, 'ringmaster').length, 0);
    const r = await docker(['exec', '--user', '12345:12345', name, 'ringmaster', 'ctl', 'status']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +RUNNING/m);
    const health = await docker(['exec', '--user', '12345:12345', name, 'ringmaster', 'healthcheck']);
    assert.equal(health.code, 0, health.stdout + health.stderr);
    await dockerOk(['kill', '-s', 'TERM', name]);
    assert.equal(await waitExit(name), 0);
  });
});
