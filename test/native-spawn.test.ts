// The native spawn and the reaper with real processes. Needs dist/ringmaster.node (npm run build).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Reaper } from '../src/pid1/reaper';
import { spawnProcess, SpawnError, type SpawnOptions } from '../src/pid1/spawn';

const reaper = new Reaper();
const orphans: number[] = [];
before(() => {
  reaper.onOrphanReaped((pid) => orphans.push(pid));
  reaper.start();
});
after(() => reaper.stop());

const ENV = { PATH: '/usr/bin:/bin' };
function sh(script: string, extra: Partial<SpawnOptions> = {}) {
  return spawnProcess({ argv: ['sh', '-c', script], env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'pipe', stderr: 'pipe', ...extra });
}

async function collect(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
}

function withTimeout<T>(p: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);
}

describe('native spawn', () => {
  it('decodes exit codes and killing signals', async () => {
    assert.deepEqual(await withTimeout(sh('exit 3').exited), { code: 3, signal: null });
    assert.deepEqual(await withTimeout(sh('kill -TERM $$').exited), { code: null, signal: 15 });
  });

  it('puts the child in its own process group, reachable with kill(-pgid)', async () => {
    const child = sh('sleep 100 & echo $$ $(cut -d" " -f5 /proc/$$/stat) $!; wait');
    const first = await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d))));
    const [pid, pgid, grandchild] = first.trim().split(' ').map(Number);
    assert.equal(pid, child.pid);
    assert.equal(pgid, child.pid);
    process.kill(-child.pid, 'SIGTERM');
    assert.equal((await withTimeout(child.exited)).signal, 15);
    const grandchildAlive = () => {
      try {
        return !readFileSync(`/proc/${grandchild}/stat`, 'latin1').includes(') Z');
      } catch {
        return false;
      }
    };
    const until = Date.now() + 3000;
    while (grandchildAlive() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(grandchildAlive(), false, 'the grandchild in the group survived kill(-pgid)');
  });

  it('applies cwd, umask and exactly the given environment', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-spawn-'));
    const child = sh('pwd; umask; env | sort', { cwd: dir, umask: 0o027, env: { ...ENV, ONLY: 'me' } });
    const out = await collect(child.stdout);
    await withTimeout(child.exited);
    const lines = out.trim().split('\n');
    assert.equal(lines[0], dir);
    assert.equal(lines[1], '0027');
    assert.ok(lines.includes('ONLY=me'));
    assert.ok(!lines.some((l) => l.startsWith('HOME=')), 'ringmaster\'s environment leaked in');
  });

  it('starts children with default signal dispositions (Node ignores SIGPIPE) and none blocked', async () => {
    const child = sh('grep -E "^Sig(Ign|Blk)" /proc/self/status');
    const out = await collect(child.stdout);
    assert.match(out, /SigBlk:\s+0+\n/);
    assert.match(out, /SigIgn:\s+0+\n/);
  });

  it('gives a stdin pipe and can send stderr into the stdout pipe', async () => {
    const child = spawnProcess({ argv: ['sh', '-c', 'cat; echo to-err >&2'], env: ENV, pgroup: 'pgroup', stdin: 'pipe', stdout: 'pipe', stderr: 'stdout' });
    child.stdin!.end('hi\n');
    assert.equal(await collect(child.stdout), 'hi\nto-err\n');
    assert.equal(child.stderr, undefined);
  });

  it('switches to a user with that user\'s supplementary groups, as root', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const child = sh('id -u; id -g; grep ^Groups /proc/self/status', { uid: 65534, gid: 65534, groups: [65534, 100] });
    const out = await collect(child.stdout);
    assert.match(out, /^65534\n65534\nGroups:\s+100 65534\s*\n$/);
  });

  it('reports exec failures with their errno and step, leaving nothing running', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-spawn-'));
    const script = path.join(dir, 'noexec.sh');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o644);
    const fail = (argv: string[], extra: Partial<SpawnOptions> = {}) => {
      try {
        spawnProcess({ argv, env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'null', stderr: 'null', ...extra });
      } catch (err) {
        assert.ok(err instanceof SpawnError);
        return err;
      }
      assert.fail('spawn did not fail');
    };
    assert.equal(fail(['no-such-command-here']).code, 'ENOENT');
    assert.match(fail(['no-such-command-here']).message, /can't find command 'no-such-command-here'/);
    assert.equal(fail([script]).code, 'EACCES');
    assert.equal(fail([dir]).code, 'EISDIR');
    const chdir = fail(['true'], { cwd: '/no/such/dir' });
    assert.equal(chdir.syscall, 'chdir');
    assert.match(chdir.message, /couldn't chdir to \/no\/such\/dir: ENOENT/);
  });
});

describe('reaper', () => {
  it('reaps orphans handed to us as subreaper and leaves libuv\'s children their exit events', async () => {
    const before = orphans.length;
    const child = sh('for i in 1 2 3 4 5; do sleep 0.1 & done; exit 0', { stdout: 'null', stderr: 'null' });
    const libuv = Array.from({ length: 50 }, (_, i) =>
      new Promise<number | null>((resolve) => execFile('sh', ['-c', `exit ${i % 7}`], (err) => resolve(err ? ((err as { code?: number }).code ?? null) : 0))),
    );
    const codes = await withTimeout(Promise.all(libuv));
    assert.deepEqual(codes, Array.from({ length: 50 }, (_, i) => i % 7));
    assert.equal((await withTimeout(child.exited)).code, 0);
    const until = Date.now() + 5000;
    while (orphans.length - before < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(orphans.length - before, 5);
  });
});
