// SPEC §10 hooks, end to end with real processes and signals: when each hook runs, with what
// user, directory and environment, where its output goes, how hook_timeout and stopwaitsecs bound
// it (its whole process group killed), and a failing pre_start as a failed start that backs off.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { NO_UNSHARE, Ringmaster, alive, canUnshare, eventually, tempDir, writeConfig } from './support/ringmaster';

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);

describe('hooks (SPEC §10)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  it('run in order around every start and stop (shutdown included) as the program\'s user, directory and environment, output under its name', async () => {
    const dir = tempDir('rm-hooks-');
    // The hooks run as nobody: their journal is in a directory anyone may write (the socket is not).
    const shared = tempDir('rm-hooks-shared-');
    chmodSync(shared, 0o777);
    const journal = path.join(shared, 'journal');
    writeFileSync(journal, '');
    chmodSync(journal, 0o666);
    const socket = path.join(dir, 'rm.sock');
    const hook = `["sh", "-c", "echo $RINGMASTER_HOOK $RINGMASTER_PROGRAM $FOO $(pwd) $(id -u) >> ${journal}; echo hook $RINGMASTER_HOOK; echo hook-err $RINGMASTER_HOOK >&2"]`;
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  web:
    command: ["sh", "-c", "echo web-start >> ${journal}; trap 'echo web-term >> ${journal}; exit 0' TERM; echo ready; while :; do sleep 0.1; done"]
    user: nobody
    directory: /tmp
    environment: {FOO: bar}
    startsecs: 1
    hooks: {pre_start: ${hook}, post_start: ${hook}, pre_stop: ${hook}, post_stop: ${hook}}
`, dir)] });
    try {
      const H = (name: string) => `${name} web bar /tmp 65534`;
      await rm.waitFor(/^web +\| hook post_start$/m);
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      assert.deepEqual(lines(journal), [H('pre_start'), 'web-start', H('post_start')]);
      const stop = await ctl(socket, 'stop', 'web');
      assert.equal(stop.code, 0, stop.out);
      assert.deepEqual(lines(journal).slice(3), [H('pre_stop'), 'web-term', H('post_stop')]);
      const start = await ctl(socket, 'start', 'web');
      assert.equal(start.code, 0, start.out);
      await eventually(() => lines(journal).length === 9, 10_000, 'the second post_start');
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait(20_000)).code, 0);
      assert.deepEqual(lines(journal).slice(6), [H('pre_start'), 'web-start', H('post_start'), H('pre_stop'), 'web-term', H('post_stop')]);
      // Through the output multiplexer, under the program's name, each stream on its own.
      assert.match(rm.stdout, /^web +\| hook pre_stop$/m);
      assert.match(rm.stderr, /^web +\| hook-err post_stop$/m);
      assert.doesNotMatch(rm.stdout + rm.stderr, /hook failed/);
    } finally {
      rm.kill();
    }
  });

  it('hook_timeout kills a hook\'s whole process group; pre_stop is bounded by stopwaitsecs, then the stop goes on', async () => {
    const dir = tempDir('rm-hooks-');
    const socket = path.join(dir, 'rm.sock');
    const pids = path.join(dir, 'pids');
    // Not under unshare: the pids the hooks write are then ours to look up in /proc.
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  web:
    command: ["sh", "-c", "echo ready; exec sleep 100"]
    startsecs: 0
    stopwaitsecs: 1
    hook_timeout: 500ms
    hooks:
      post_start: ["sh", "-c", "sleep 100 & echo $$$$ $! >> ${pids}; wait"]
      pre_stop: ["sh", "-c", "sleep 100 & echo $$$$ $! >> ${pids}; wait"]
`, dir)] });
    try {
      await rm.waitFor(/web: post_start hook failed \(timed out after 0\.5s, its process group killed\)/, 15_000, 'stderr');
      const [hookPid, childPid] = lines(pids)[0].split(' ').map(Number);
      await eventually(() => !alive(hookPid) && !alive(childPid), 10_000, 'the post_start hook and its child gone');
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      const t0 = Date.now();
      assert.equal((await ctl(socket, 'stop', 'web')).code, 0);
      const took = Date.now() - t0;
      assert.ok(took < 8000, `the stop took ${took} ms: pre_stop must count in stopwaitsecs`);
      assert.match(rm.stderr, /web: pre_stop hook failed \(timed out after 0\.5s, its process group killed\)/);
      const [stopHook, stopChild] = lines(pids)[1].split(' ').map(Number);
      await eventually(() => !alive(stopHook) && !alive(stopChild), 10_000, 'the pre_stop hook and its child gone');
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait(20_000)).code, 0);
    } finally {
      rm.kill();
    }
  });

  it('a failing pre_start is a failed start: retried after the backoff, counted against startretries, then FATAL with its code', async () => {
    const dir = tempDir('rm-hooks-');
    const journal = path.join(dir, 'journal');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  app:
    command: ["sh", "-c", "echo app-ran >> ${journal}"]
    critical: true
    startretries: 1
    backoff: {initial: 200ms}
    hooks: {pre_start: ["sh", "-c", "echo try >> ${journal}; exit 3"]}
`, dir)] });
    try {
      assert.equal((await rm.wait(20_000)).code, 3);
      assert.deepEqual(lines(journal), ['try', 'try']);
      assert.match(rm.stdout, /app will restart in \d\.\ds \(BACKOFF\)/);
      assert.equal((rm.stderr.match(/app: pre_start hook failed \(exit status 3\)/g) ?? []).length, 2);
      assert.match(rm.stderr, /gave up: app entered FATAL state/);
      assert.doesNotMatch(rm.stdout, /spawned: app/);
    } finally {
      rm.kill();
    }
  });
});
