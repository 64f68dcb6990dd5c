// spawnProcess (src/pid1/spawn.ts), the one place that starts programs, with real processes:
// the executable lookup, what the child gets (group, cwd, umask, env, user, pipes) and the errors.
// Uses the compiled addon: run `node scripts/build.mjs --no-sea` first (npm test does).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Reaper } from '../src/pid1/reaper';
import { resolveExecutable, SpawnError, spawnProcess, type SpawnOptions } from '../src/pid1/spawn';

const ENV = { PATH: '/usr/bin:/bin' };
const started: number[] = [];

function run(argv: string[], extra: Partial<SpawnOptions> = {}) {
  const child = spawnProcess({ argv, env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'pipe', stderr: 'pipe', ...extra });
  started.push(child.pid);
  return child;
}
const sh = (script: string, extra: Partial<SpawnOptions> = {}) => run(['sh', '-c', script], extra);

async function collect(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  let out = '';
  if (stream) for await (const chunk of stream) out += chunk;
  return out;
}

function within<T>(p: Promise<T>, ms = 5000, what = 'the child'): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function failure(argv: string[], extra: Partial<SpawnOptions> = {}): SpawnError {
  try {
    run(argv, { stdout: 'null', stderr: 'null', ...extra });
  } catch (err) {
    assert.ok(err instanceof SpawnError, `not a SpawnError: ${err}`);
    return err;
  }
  assert.fail(`${argv[0]} started`);
}

// Child mode, used by the EPERM test: run as an unprivileged user, ask for root's credentials.
if (process.env.RM_SPAWN_TEST_AS_USER) {
  try {
    spawnProcess({ argv: ['true'], env: ENV, uid: 0, gid: 0, pgroup: 'pgroup', stdin: 'null', stdout: 'null', stderr: 'null' });
    console.log(JSON.stringify({ started: true }));
  } catch (err) {
    const e = err as SpawnError;
    console.log(JSON.stringify({ code: e.code, syscall: e.syscall, errno: e.errno, message: e.message }));
  }
} else {
  const reaper = new Reaper();
  before(() => reaper.start());
  after(() => {
    reaper.stop();
    for (const pid of started) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }
  });

  describe('spawnProcess: the child', () => {
    it('exits with its code, or reports the killing signal', async () => {
      const three = sh('exit 3');
      assert.deepEqual(await within(three.exited), { pid: three.pid, code: 3, signal: null });
      const killed = sh('kill -TERM $$');
      assert.deepEqual(await within(killed.exited), { pid: killed.pid, code: null, signal: 15 });
    });

    it('leads its own process group: kill(-pid) reaches its background grandchild too', async () => {
      const child = sh('sleep 100 & echo $$ $(cut -d" " -f5 /proc/$$/stat) $!; wait');
      const line = await within(new Promise<string>((resolve) => child.stdout!.stream().once('data', (d) => resolve(String(d)))));
      const [pid, pgid, grandchild] = line.trim().split(' ').map(Number);
      assert.equal(pid, child.pid);
      assert.equal(pgid, child.pid, '/proc/<pid>/stat field 5 is not the pid');
      process.kill(-child.pid, 'SIGTERM');
      assert.equal((await within(child.exited)).signal, 15);
      const gone = () => {
        try {
          return readFileSync(`/proc/${grandchild}/stat`, 'latin1').includes(') Z');
        } catch {
          return true;
        }
      };
      const until = Date.now() + 3000;
      while (!gone() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      assert.ok(gone(), 'the grandchild survived kill(-pgid)');
    });

    it('runs in the given directory with the given umask', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'rm-spawn-'));
      const child = sh('pwd; umask', { cwd: dir, umask: 0o027 });
      assert.equal(await within(collect(child.stdout?.stream())), `${dir}\n0027\n`);
      rmSync(dir, { recursive: true });
    });

    it('gets exactly the given environment, nothing of ringmaster\'s', async () => {
      const child = run(['env'], { env: { PATH: '/usr/bin:/bin', ONLY: 'me', EMPTY: '', 'WITH=EQUALS': 'x' } });
      assert.equal(await within(collect(child.stdout?.stream())), 'PATH=/usr/bin:/bin\nONLY=me\nEMPTY=\nWITH=EQUALS=x\n');
    });

    it('as root: takes the uid, gid and supplementary groups it is given', async (t) => {
      if (process.getuid?.() !== 0) return t.skip('needs root (setgroups/setgid/setuid)');
      const child = sh('grep -E "^(Uid|Gid|Groups):" /proc/self/status', { uid: 65534, gid: 65534, groups: [65534, 100] });
      const out = await within(collect(child.stdout?.stream()));
      assert.match(out, /^Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\nGroups:\t100 65534 ?\n$/);
    });

    it('as root: a uid and gid without groups leave only that gid (none of root\'s groups)', async (t) => {
      if (process.getuid?.() !== 0) return t.skip('needs root (setgroups/setgid/setuid)');
      const child = sh('grep -E "^Groups:" /proc/self/status', { uid: 65534, gid: 65534 });
      assert.match(await within(collect(child.stdout?.stream())), /^Groups:\t65534 ?\n$/);
    });

    it('without the privilege to switch users: fails with EPERM from setgroups, nothing started', async (t) => {
      let result: { code?: string; syscall?: string; errno?: number; message?: string; started?: boolean };
      if (process.getuid?.() === 0) {
        const setpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' });
        if (setpriv.status !== 0) return t.skip('needs setpriv (util-linux) to run a part of this test unprivileged');
        // A checkout under a mode-0700 directory (mktemp -d) cannot be read by the unprivileged user.
        const readable = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', import.meta.filename], { stdio: 'ignore' });
        if (readable.status !== 0) return t.skip(`uid 65534 cannot read ${import.meta.filename} (a parent directory is private): the unprivileged part cannot run here`);
        const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', import.meta.filename], {
          env: { ...process.env, RM_SPAWN_TEST_AS_USER: '1' },
          encoding: 'utf8',
          timeout: 20_000,
        });
        assert.equal(r.status, 0, `unprivileged run failed: ${r.stderr}`);
        result = JSON.parse(r.stdout.trim().split('\n').pop()!);
      } else {
        try {
          spawnProcess({ argv: ['true'], env: ENV, uid: 0, gid: 0, pgroup: 'pgroup', stdin: 'null', stdout: 'null', stderr: 'null' });
          result = { started: true };
        } catch (err) {
          result = err as SpawnError;
        }
      }
      assert.equal(result.started, undefined, 'an unprivileged spawn switched to root');
      assert.equal(result.code, 'EPERM');
      assert.equal(result.syscall, 'setgroups');
      assert.equal(result.errno, 1);
      assert.match(result.message!, /^couldn't set supplementary groups 0: EPERM$/);
    });
  });

  describe('spawnProcess: pipes', () => {
    it('stdin is a writable pipe: what is written comes back through cat', async () => {
      const child = run(['cat'], { stdin: 'pipe' });
      child.stdin!.stream().end('hi\n');
      assert.equal(await within(collect(child.stdout?.stream())), 'hi\n');
      assert.equal((await within(child.exited)).code, 0);
    });

    it("stderr 'stdout' sends both streams into the stdout pipe, in order", async () => {
      const child = sh('echo out; echo err >&2; echo out2', { stderr: 'stdout' });
      assert.equal(child.stderr, undefined);
      assert.equal(await within(collect(child.stdout?.stream())), 'out\nerr\nout2\n');
    });

    it('stdout and stderr are separate readable sockets that end at EOF, then close', async () => {
      const child = sh('echo out; echo err >&2');
      const once = (s: NodeJS.EventEmitter, event: string) => new Promise<void>((resolve) => s.once(event, () => resolve()));
      // Every listener before any data can flow.
      const events = [once(child.stdout!.stream(), 'end'), once(child.stderr!.stream(), 'end'), once(child.stdout!.stream(), 'close'), once(child.stderr!.stream(), 'close')];
      const [out, err] = await within(Promise.all([collect(child.stdout?.stream()), collect(child.stderr?.stream())]));
      assert.equal(out, 'out\n');
      assert.equal(err, 'err\n');
      await within(Promise.all(events), 5000, "'end' and 'close'");
    });

    it("'null' gives /dev/null", async () => {
      const child = sh('readlink /proc/self/fd/0 >&2', { stdin: 'null', stdout: 'null', stderr: 'pipe' });
      assert.equal(child.stdout, undefined);
      assert.equal(await within(collect(child.stderr?.stream())), '/dev/null\n');
    });
  });

  describe('spawnProcess: lookup and failures (Supervisor\'s messages)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-spawn-'));
    const plain = path.join(dir, 'plain.sh');
    writeFileSync(plain, '#!/bin/sh\n');
    chmodSync(plain, 0o644);
    const garbage = path.join(dir, 'garbage');
    writeFileSync(garbage, '\x7fNOT-ELF\0\0\0');
    chmodSync(garbage, 0o755);
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(path.join(dir, 'bin', 'mytool'), '#!/bin/sh\necho mytool "$@"\n');
    chmodSync(path.join(dir, 'bin', 'mytool'), 0o755);
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('a lookup is remembered for the rest of the turn of the event loop only (programs started together share it)', async () => {
      const a = path.join(dir, 'turn-a');
      const b = path.join(dir, 'turn-b');
      mkdirSync(a);
      mkdirSync(b);
      writeFileSync(path.join(a, 'turntool'), '#!/bin/sh\n');
      chmodSync(path.join(a, 'turntool'), 0o755);
      const env = { PATH: `${a}:${b}` };
      assert.equal(resolveExecutable('turntool', env), path.join(a, 'turntool'));
      rmSync(path.join(a, 'turntool'));
      writeFileSync(path.join(b, 'turntool'), '#!/bin/sh\n');
      chmodSync(path.join(b, 'turntool'), 0o755);
      assert.equal(resolveExecutable('turntool', env), path.join(a, 'turntool'), 'searched again in the same turn');
      await new Promise(setImmediate);
      assert.equal(resolveExecutable('turntool', env), path.join(b, 'turntool'), 'a later start did not search again');
    });

    it('a name is searched in the PATH of the child\'s environment; a relative path from its directory', async () => {
      const byPath = run(['mytool', 'a'], { env: { PATH: `/nowhere:${dir}/bin` } });
      assert.equal(await within(collect(byPath.stdout?.stream())), 'mytool a\n');
      const relative = run(['./bin/mytool', 'b'], { cwd: dir });
      assert.equal(await within(collect(relative.stdout?.stream())), 'mytool b\n');
    });

    it("without PATH in the child's environment, ringmaster's PATH is searched", async () => {
      const child = run(['sh', '-c', 'echo found'], { env: {} });
      assert.equal(await within(collect(child.stdout?.stream())), 'found\n');
    });

    it('a command not found: ENOENT, "can\'t find command"', () => {
      const e = failure(['no-such-command-here']);
      assert.deepEqual([e.code, e.errno, e.syscall], ['ENOENT', 2, 'lookup']);
      assert.equal(e.message, "can't find command 'no-such-command-here'");
      assert.equal(failure([path.join(dir, 'missing')]).code, 'ENOENT');
    });

    it('a file without x bit: EACCES, "is not executable"; a directory: EISDIR, "is a directory"', () => {
      const e = failure([plain]);
      assert.deepEqual([e.code, e.errno, e.message], ['EACCES', 13, `command at '${plain}' is not executable`]);
      const d = failure([dir]);
      assert.deepEqual([d.code, d.message], ['EISDIR', `command at '${dir}' is a directory`]);
    });

    it('an executable the kernel cannot run: the exec step\'s errno, "couldn\'t exec"', () => {
      const e = failure([garbage]);
      assert.deepEqual([e.code, e.syscall], ['ENOEXEC', 'exec']);
      assert.equal(e.message, `couldn't exec ${garbage}: ENOEXEC`);
    });

    it('a directory that does not exist: syscall chdir, "couldn\'t chdir"', () => {
      const e = failure(['true'], { cwd: '/no/such/dir' });
      assert.deepEqual([e.code, e.syscall], ['ENOENT', 'chdir']);
      assert.equal(e.message, "couldn't chdir to /no/such/dir: ENOENT");
    });

    it('an empty command or a NUL byte: EINVAL before anything runs', () => {
      assert.equal(failure([]).code, 'EINVAL');
      assert.equal(failure(['echo', 'a\0b']).code, 'EINVAL');
      assert.equal(failure(['true'], { env: { A: 'x\0y' } }).code, 'EINVAL');
    });

    it('a child_process spawn beside it is unaffected (the reaper leaves libuv\'s children alone)', async () => {
      const code = await within(new Promise<number | null>((resolve) => spawn('sh', ['-c', 'exit 9']).on('exit', resolve)));
      assert.equal(code, 9);
    });
  });
}
