// SPEC §6 /metrics and §2 exec healthchecks in a distroless-like root: the single executable as
// PID 1 of a new PID namespace, `sleep` and `test` copied from the host with their libraries, and
// no /bin/sh at all (no busybox either: this runs where the busybox-based tests skip).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpUnix } from './support/http';
import { parsePrometheus } from './support/prometheus';
import { BUNDLE, NO_UNSHARE, Ringmaster, canUnshare, eventually, tempDir } from './support/ringmaster';
import { ADDON, ENTRYPOINT, SEA, sharedLibraries, zombiesInNamespace } from './support/rootfs';

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (!existsSync(SEA)) return `${SEA} (the single executable) is missing: run \`node scripts/build.mjs\``;
  if (statSync(SEA).mtimeMs < statSync(BUNDLE).mtimeMs) return `${SEA} is older than ${BUNDLE}: run \`node scripts/build.mjs\``;
  if (!canUnshare()) return NO_UNSHARE;
  return undefined;
}

/** A root holding the executable, its addon, `sleep` and `test`, their libraries, /dev/null. */
class ShellessRoot {
  readonly dir = tempDir('rm-shelless-');
  private runs: Ringmaster[] = [];

  constructor() {
    for (const d of ['bin', 'etc', 'proc', 'dev', 'tmp', 'run', 'srv']) mkdirSync(this.path(d), { recursive: true });
    this.copy(SEA, ENTRYPOINT, 0o755);
    if (existsSync(ADDON)) this.copy(ADDON, path.join(path.dirname(ENTRYPOINT), 'ringmaster.node'));
    for (const tool of ['sleep', 'test']) {
      const host = execFileSync('which', [tool], { encoding: 'utf8' }).trim();
      this.copy(host, `/bin/${tool}`, 0o755);
      for (const lib of sharedLibraries(host)) this.copy(lib, lib);
    }
    for (const lib of sharedLibraries(SEA)) this.copy(lib, lib);
    const r = spawnSync('mknod', ['-m', '666', this.path('/dev/null'), 'c', '1', '3']);
    if (r.status !== 0) throw new Error(`mknod /dev/null failed: ${r.stderr}`);
    writeFileSync(this.path('/etc/passwd'), 'root:x:0:0:root:/root:/nonexistent\n');
    writeFileSync(this.path('/etc/group'), 'root:x:0:\n');
  }

  path(p: string): string {
    return path.join(this.dir, p);
  }

  private copy(src: string, dest: string, mode?: number): void {
    mkdirSync(path.dirname(this.path(dest)), { recursive: true });
    copyFileSync(realpathSync(src), this.path(dest));
    if (mode !== undefined) execFileSync('chmod', [mode.toString(8), this.path(dest)]);
  }

  write(p: string, text: string): void {
    writeFileSync(this.path(p), text);
  }

  run(env: Record<string, string>): Ringmaster {
    // An image's environment, not ours (NODE_EXTRA_CA_CERTS and the like point at host files).
    const clean = Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined]));
    const rm = new Ringmaster({ pid1: true, command: [`--root=${this.dir}`, '--wd=/', ENTRYPOINT], env: { ...clean, PATH: '/bin', HOME: '/', ...env } });
    this.runs.push(rm);
    return rm;
  }

  remove(): void {
    for (const rm of this.runs) if (rm.proc.exitCode === null && rm.proc.signalCode === null) rm.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('health and metrics where /bin/sh is absent (SPEC §6)', { skip: skipReason() }, () => {
  let root: ShellessRoot;
  before(() => {
    root = new ShellessRoot();
  });
  after(() => root?.remove());

  it('exec checks run without a shell and /metrics has CPU and memory, with nothing on stderr', async () => {
    assert.ok(!existsSync(root.path('/bin/sh')));
    root.write('/etc/ringmaster.yaml', `
settings: {socket: /run/rm.sock}
programs:
  app:
    command: sleep 1000
    startsecs: 0
    healthcheck: {exec: "test -d /srv", interval: 100ms}
  dependent: {command: sleep 1000, startsecs: 0, depends_on: {app: healthy}}
`);
    const rm = root.run({ RINGMASTER_CONFIG: '/etc/ringmaster.yaml' });
    try {
      await rm.waitFor(/app is healthy/);
      await rm.waitFor(/dependent entered RUNNING/);
      const socket = root.path('/run/rm.sock');
      await eventually(() => existsSync(socket), 5000, 'the control socket');
      const r = await httpUnix(socket, 'GET', '/metrics');
      assert.equal(r.status, 200);
      const families = parsePrometheus(r.body);
      const sample = (family: string) => families.get(family)?.samples.find((s) => s.labels.process === 'app')?.value;
      assert.ok(sample('ringmaster_process_resident_memory_bytes')! > 0, r.body);
      assert.ok(sample('ringmaster_process_cpu_seconds_total')! >= 0, r.body);
      assert.ok(sample('ringmaster_process_start_time_seconds')! > 1e9, r.body);
      const status = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body);
      const app = status.processes.find((p: { name: string }) => p.name === 'app');
      assert.ok(app.memory > 0 && app.cpu !== null, JSON.stringify(app));
      // Checks every 100 ms, all reaped: no zombie stays in the container.
      const pid = await rm.ringmasterPid();
      await eventually(() => zombiesInNamespace(pid) === 0, 2000, 'no zombies');
      assert.equal(rm.stderr, '', 'nothing on stderr (pidusage would complain that getconf failed)');
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});
