// SPEC §10: `memory_limit` restarts a program whose process group holds more resident memory than
// its limit; a SIGKILL from the kernel's OOM killer is named as such; `user:` as a non-root
// ringmaster names only ringmaster's own user. Real processes, real memory, a real memory cgroup.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Bus } from '../src/bus';
import { formatSize, MemoryWatch } from '../src/health/memory-watch';
import { findOomCountFile, OomCounter } from '../src/pid1/oom';
import type { ProcessSnapshot, ProcessSpec } from '../src/types';
import { makeMemoryCgroup } from './support/cgroup';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { program } from './support/program';
import { parsePrometheus } from './support/prometheus';
import { value } from './support/xmlrpc';
import { BUNDLE, NO_UNSHARE, Ringmaster, canUnshare, eventually, tempDir, writeConfig } from './support/ringmaster';

const MB = 1024 * 1024;
/** node holding `mb` MiB of touched memory; it says `holding` once it does, then waits for TERM. */
const hold = (mb: number) => `${process.execPath} -e 'globalThis.b = Buffer.alloc(${mb} * 1048576, 1); console.log("holding"); setInterval(() => {}, 1e6)'`;

async function metric(socket: string, name: string, processName: string): Promise<number | undefined> {
  const families = parsePrometheus((await httpUnix(socket, 'GET', '/metrics')).body);
  return families.get(name)?.samples.find((s) => s.labels.process === processName)?.value;
}

describe('memory_limit (SPEC §10)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  it('a process group above its limit is restarted through its stop, with a stderr line, the stop reason and a count in /metrics', async () => {
    const dir = tempDir('rm-mem-');
    const socket = path.join(dir, 'rm.sock');
    // Two members of 45 MiB (each about 90 MiB resident with node's own) under 150MB: neither
    // alone is above it, the group is. The second run holds nothing.
    const once = path.join(dir, 'once');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  grow:
    command: ["sh", "-c", "if [ -e ${once} ]; then echo second run; exec sleep 1000; fi; touch ${once}; ${hold(45).replace(/"/g, '\\"')} & ${hold(45).replace(/"/g, '\\"')} & wait"]
    memory_limit: 150MB
    startsecs: 0
  small: {command: ["sleep", "1000"], memory_limit: 150MB, startsecs: 0}
`, dir)] });
    try {
      // (It may be caught before either member has said `holding`.)
      const m = await rm.waitFor(/^ringmaster +\| grow exceeded memory_limit 150MB \(rss (\d+)MB\); restarting$/m, 30_000, 'stderr');
      assert.ok(Number(m[1]) > 150, m[0]);
      await rm.waitFor(/stopped: grow \(terminated by SIGTERM; by exceeding memory_limit\)/);
      await rm.waitFor(/^grow +\| second run$/m);
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      const status = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body).processes as ProcessSnapshot[];
      assert.deepEqual(status.map((p) => [p.name, p.state, p.memoryRestarts, p.restarts]), [['grow', 'RUNNING', 1, 1], ['small', 'RUNNING', 0, 0]]);
      assert.equal(await metric(socket, 'ringmaster_process_memory_restarts_total', 'grow'), 1);
      assert.equal(await metric(socket, 'ringmaster_process_memory_restarts_total', 'small'), 0);
      assert.doesNotMatch(rm.stderr, /small exceeded/);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    } finally {
      rm.kill();
    }
  });

  it('bad values are config errors at their line, nothing started', () => {
    const file = writeConfig(`programs:
  web:
    command: ["sleep", "1"]
    memory_limit: lots
  api:
    command: ["sleep", "1"]
    memory_limt: 1GB
  zero: {command: ["sleep", "1"], memory_limit: 0}
  migrate: {command: ["true"], stage: init, memory_limit: 1GB}
  nightly: {command: ["true"], schedule: "@daily", memory_limit: 1GB}
`);
    const r = spawnSync(process.execPath, [BUNDLE, 'check', '-c', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^${file}:4:19: programs\\.web\\.memory_limit: expected a size like 50MB, 1KB or a number of bytes, got "lots"$`, 'm'));
    assert.match(r.stderr, /:7:5: programs\.api\.memory_limt: unknown key "memory_limt", did you mean "memory_limit"\?$/m);
    assert.match(r.stderr, /:8:49: programs\.zero\.memory_limit: must be more than 0/m);
    assert.match(r.stderr, /:9:59: programs\.migrate\.memory_limit: has no meaning for an init program: a memory_limit restarts its program, and this one is never restarted$/m);
    assert.match(r.stderr, /:10:66: programs\.nightly\.memory_limit: a memory_limit restarts its program, and a scheduled program is never restarted$/m);
  });
});

describe('OOM attribution in a memory cgroup the test makes (SPEC §10)', () => {
  const cg = makeMemoryCgroup(`ringmaster-test-${process.pid}`, 300 * MB);
  it('a program the OOM killer kills is named so in its line, status, metrics and summary; a kill -9 is not', { skip: typeof cg === 'string' ? cg : false }, async () => {
    if (typeof cg === 'string') return;
    console.log(`# OOM test in cgroup v${cg.version}: ${cg.dir}`);
    const dir = tempDir('rm-oom-');
    const socket = path.join(dir, 'rm.sock');
    // ringmaster enters the cgroup before it execs, so it and its programs are in it from the
    // start; the hog offers itself to the OOM killer (raising oom_score_adj needs no privilege).
    const rm = new Ringmaster({
      command: ['sh', '-c', `echo $$ > ${cg.dir}/cgroup.procs && exec "$0" "$@"`, process.execPath, BUNDLE],
      args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  hog:
    command: ["sh", "-c", "echo 1000 > /proc/self/oom_score_adj; exec ${process.execPath} -e 'const a = []; for (;;) a.push(Buffer.alloc(1048576, 1))'"]
    autorestart: false
    startsecs: 0
  wrapped:
    command: ["sh", "-c", "echo 1000 > /proc/self/oom_score_adj; ${process.execPath} -e 'const a = []; for (;;) a.push(Buffer.alloc(1048576, 1))'; exit $?"]
    autorestart: false
    startsecs: 0
  victim: {command: ["sh", "-c", "echo up; exec sleep 1000"], autorestart: false, startsecs: 0, priority: 1}
`, dir)],
    });
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      await rm.waitFor(/exited: hog \(killed by SIGKILL from the kernel's OOM killer; not expected\)/, 30_000);
      // A shell that ran the victim (no exec) exits 137 itself.
      await rm.waitFor(/exited: wrapped \(exit status 137 after the kernel's OOM killer killed a process of its group; not expected\)/, 30_000);
      await rm.waitFor(/^victim +\| up$/m);
      // A kill -9 after that OOM kill (the count rose since the victim started, but the rise was
      // the hog's): not the OOM killer's.
      const victim = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body).processes.find((p: ProcessSnapshot) => p.name === 'victim').pid;
      process.kill(victim, 'SIGKILL');
      await rm.waitFor(/exited: victim \(terminated by SIGKILL; not expected\)/);
      assert.match((await ctl(socket, 'status', 'hog')).out, /^hog +EXITED +.*, exit code 137 \(killed by SIGKILL from the kernel's OOM killer\)$/m);
      assert.match((await ctl(socket, 'status', 'victim')).out, /^victim +EXITED +.*, exit code 137$/m);
      const hog = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body).processes.find((p: ProcessSnapshot) => p.name === 'hog');
      assert.equal(hog.oomKilled, true);
      assert.equal(hog.description, "Bad exit code 137 (killed by SIGKILL from the kernel's OOM killer)");
      const info = value(socket, 'supervisor.getProcessInfo', 'hog') as { description: string; exitstatus: number };
      assert.match(info.description, /\(killed by SIGKILL from the kernel's OOM killer\)$/);
      assert.equal(await metric(socket, 'ringmaster_process_oom_kills_total', 'hog'), 1);
      assert.equal(await metric(socket, 'ringmaster_process_oom_kills_total', 'wrapped'), 1);
      assert.equal(await metric(socket, 'ringmaster_process_oom_kills_total', 'victim'), 0);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
      assert.match(rm.stdout, /hog: EXITED, exit code 137 \(killed by SIGKILL from the kernel's OOM killer\), 0 restarts/);
      assert.match(rm.stdout, /victim: EXITED, exit code 137 \(terminated by SIGKILL\), 0 restarts/);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n--- stdout:\n${rm.stdout}\n--- stderr:\n${rm.stderr}`);
    } finally {
      rm.kill();
      await rm.exited;
      cg.remove();
    }
  });
});

/**
 * The bundle and its addon where uid 12345 can read them: the checkout may sit in a directory only
 * root can enter (a mktemp clone is 0700).
 */
let readableBundle: string | undefined;
function bundleForAnyUser(): string {
  if (readableBundle) return readableBundle;
  const dir = mkdtempSync(path.join(tmpdir(), 'rm-anyuser-bundle-'));
  chmodSync(dir, 0o755);
  for (const f of ['ringmaster.cjs', 'ringmaster.node']) {
    copyFileSync(path.join(path.dirname(BUNDLE), f), path.join(dir, f));
    chmodSync(path.join(dir, f), 0o755);
  }
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return (readableBundle = path.join(dir, 'ringmaster.cjs'));
}

describe('user: when ringmaster is not root (SPEC §10)', { skip: process.getuid?.() === 0 ? false : 'needs root to run ringmaster as another uid' }, () => {
  it('as uid 12345 with no passwd entry, `check` accepts user: naming itself and refuses another user at its line', () => {
    const d = tempDir('rm-user-');
    chmodSync(d, 0o755);
    const file = writeConfig(`programs:
  self: {command: ["true"], user: "12345"}
  other: {command: ["true"], user: root}
`, d);
    chmodSync(file, 0o644);
    const r = spawnSync(process.execPath, [bundleForAnyUser(), 'check', '-c', file], { encoding: 'utf8', timeout: 20_000, uid: 12345, gid: 12345 });
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(file));
    assert.deepEqual(lines, [
      `${file}:3:36: programs.other.user: ringmaster runs as uid 12345:12345, not root, so it can run programs only as itself, not as "root" (0:0); remove user: or run ringmaster as root`,
    ]);
    // The same config is fine for root.
    const asRoot = spawnSync(process.execPath, [BUNDLE, 'check', '-c', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(asRoot.status, 0, asRoot.stderr);
  });
});

describe('ringmaster as an arbitrary uid, not PID 1, /run not writable (SPEC §10)', { skip: process.getuid?.() === 0 ? false : 'needs root to run ringmaster as another uid' }, () => {
  it('runs a program with user: naming itself, puts its socket in the temp dir, and ctl as that user reaches it', async () => {
    const dir = tempDir('rm-anyuser-');
    chmodSync(dir, 0o755);
    chownSync(dir, 12345, 12345);
    const as12345 = ['setpriv', '--reuid=12345', '--regid=12345', '--clear-groups'];
    const rm = new Ringmaster({
      command: [...as12345, process.execPath, bundleForAnyUser()],
      env: { TMPDIR: dir },
      args: ['-c', writeConfig(`settings: {socket: /run/rm-test-${process.pid}.sock}
programs:
  me: {command: ["sh", "-c", "echo uid $(id -u) gid $(id -g); exec sleep 1000"], user: "12345", startsecs: 0}
`, dir)],
    });
    try {
      await rm.waitFor(/^me +\| uid 12345 gid 12345$/m);
      const m = await rm.waitFor(/^ringmaster +\| control socket at (\S+) \(cannot listen on \/run\/rm-test-\d+\.sock: EACCES\)$/m);
      assert.equal(m[1], path.join(dir, 'ringmaster-12345', `rm-test-${process.pid}.sock`));
      assert.match(rm.stdout, /^ringmaster +\| ringmaster pid \d+, 1 processes/m);
      assert.equal(rm.stderr, '', 'no warning');
      const status = spawnSync(as12345[0], [...as12345.slice(1), process.execPath, bundleForAnyUser(), 'ctl', 'status'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TMPDIR: dir, RINGMASTER_SOCKET: m[1] } });
      assert.equal(status.status, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /^me +RUNNING +pid \d+/m);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    } finally {
      rm.kill();
    }
  });
});

describe('finding the memory cgroup\'s OOM-kill count', () => {
  /** A fake /proc/self (cgroup, mountinfo) and cgroup file system under a temp dir. */
  function fake(cgroup: string, mountinfo: (root: string) => string, file: string, text: string): { proc: string; file: string } {
    const root = tempDir('rm-cg-');
    mkdirSync(path.join(root, 'proc'));
    writeFileSync(path.join(root, 'proc', 'cgroup'), cgroup);
    writeFileSync(path.join(root, 'proc', 'mountinfo'), mountinfo(root));
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
    return { proc: path.join(root, 'proc'), file: path.join(root, file) };
  }

  it('cgroup v2: our path below the mount\'s root, memory.events', () => {
    const f = fake('0::/kubepods/pod1/c1\n', (r) => `30 22 0:27 / ${r}/cg rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n`, 'cg/kubepods/pod1/c1/memory.events', 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n');
    assert.equal(findOomCountFile(f.proc), f.file);
    const counter = new OomCounter(f.file);
    assert.equal(counter.count(), 2);
    assert.equal(counter.claim(0), false, 'the kills before ringmaster started are not anyone\'s');
    writeFileSync(f.file, 'oom 3\noom_kill 3\noom_group_kill 0\n');
    assert.equal(counter.claim(2), true);
    assert.equal(counter.claim(2), false, 'one rise, one process');
    writeFileSync(f.file, 'oom 5\noom_kill 5\noom_group_kill 0\n');
    assert.equal(counter.claim(2), true, 'two victims at once: one kill each');
    assert.equal(counter.claim(2), true);
    assert.equal(counter.claim(2), false);
  });

  it('the count at a spawn is read once per turn of the event loop; a claim reads it afresh', async () => {
    const f = fake('0::/c\n', (r) => `30 22 0:27 / ${r}/cg rw - cgroup2 cgroup2 rw\n`, 'cg/c/memory.events', 'oom 1\noom_kill 1\n');
    const counter = new OomCounter(f.file);
    assert.equal(counter.count(), 1);
    writeFileSync(f.file, 'oom 2\noom_kill 2\n');
    assert.equal(counter.count(), 1, '100 spawns of one turn read the file once');
    assert.equal(counter.claim(1), true, 'a claim saw an old count');
    await Promise.resolve();
    assert.equal(counter.count(), 2, 'the next turn read an old count');
  });

  it('cgroup v1 in a container: the mount\'s root is our own cgroup; hybrid systems use v1\'s memory', () => {
    const f = fake('12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n', (r) => [
      `31 30 0:28 /docker/abc ${r}/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct`,
      `34 30 0:31 /docker/abc ${r}/cgroup/memory ro - cgroup cgroup rw,memory`,
      `40 30 0:37 / ${r}/cgroup/unified rw - cgroup2 cgroup2 rw`,
    ].join('\n'), 'cgroup/memory/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 7\n');
    assert.equal(findOomCountFile(f.proc), f.file);
    assert.equal(new OomCounter(f.file).count(), 7);
  });

  it('none: no memory controller, or a kernel whose file has no oom_kill', () => {
    const none = fake('1:cpu:/\n', (r) => `31 30 0:28 / ${r}/cgroup/cpu rw - cgroup cgroup rw,cpu\n`, 'cgroup/cpu/cpu.shares', '1024\n');
    assert.equal(findOomCountFile(none.proc), null);
    const old = fake('4:memory:/\n', (r) => `34 30 0:31 / ${r}/cgroup/memory rw - cgroup cgroup rw,memory\n`, 'cgroup/memory/memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\n');
    assert.equal(findOomCountFile(old.proc), null);
  });
});

describe('MemoryWatch', () => {
  const spec = (name: string, memoryLimit?: number): ProcessSpec => ({ program: program({ name, memoryLimit }), name, group: name, namespec: name, processNum: 0 });
  const state = (bus: Bus, s: ProcessSpec, to: 'RUNNING' | 'STOPPING', pid: number) =>
    bus.emit('process.state', { spec: s, process: { pid } as ProcessSnapshot, from: 'STARTING', to });

  it('has a timer only while a process with a limit runs, and reports each run once', () => {
    const bus = new Bus();
    const exceeded: string[] = [];
    let pages = new Map<number, number>();
    const watch = new MemoryWatch({ exceeded: (s, rss) => exceeded.push(`${s.name} ${rss}`), measure: () => pages, intervalMs: 60_000 });
    watch.follow(bus);
    const free = spec('free');
    const web = spec('web', 8 * 4096);
    state(bus, free, 'RUNNING', 10);
    assert.equal(watch.size, 0, 'no limit: not watched, no timer');
    state(bus, web, 'RUNNING', 20);
    assert.equal(watch.size, 1);
    pages = new Map([[20, 8], [10, 1000]]);
    watch.check();
    assert.deepEqual(exceeded, [], 'at the limit is not above it');
    pages = new Map([[20, 9]]);
    watch.check();
    watch.check();
    assert.deepEqual(exceeded, [`web ${9 * 4096}`]);
    assert.equal(watch.size, 0, 'once reported, not again until it runs again');
    state(bus, web, 'RUNNING', 21);
    state(bus, web, 'STOPPING', 21);
    assert.equal(watch.size, 0);
    watch.close();
  });

  it('formats sizes as the config writes them', () => {
    assert.deepEqual([512 * MB, 530.4 * MB, 1.5 * 1024 * MB, 2 * 1024 * MB, 900 * 1024, 5.5 * MB].map(formatSize), ['512MB', '530MB', '1.5GB', '2GB', '900KB', '5.5MB']);
  });
});
