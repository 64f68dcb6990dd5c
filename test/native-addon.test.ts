// The native addon (native/ringmaster.c) on its own, with real processes: what the child gets
// (process group or session, signal state, fds) and how failures and exits are reported.
// Uses the compiled addon: run `node scripts/build.mjs --no-sea` first (npm test does).
import assert from 'node:assert/strict';
import { chmodSync, closeSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { native } from '../src/pid1/native';
import type { NativeSpawnOptions, WaitResult } from '../src/pid1/native-types';

const started: number[] = [];
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    native.reap(pid);
  }
});

function spawn(file: string, argv: string[], extra: Partial<NativeSpawnOptions> = {}) {
  const r = native.spawn({ file, argv, env: ['PATH=/usr/bin:/bin'], pgroup: 'pgroup', stdin: 'null', stdout: 'null', stderr: 'null', ...extra });
  started.push(r.pid);
  return r;
}

/** No Reaper here: poll waitpid(pid, WNOHANG), bounded. */
async function waitExit(pid: number, ms = 5000): Promise<WaitResult> {
  const until = Date.now() + ms;
  for (;;) {
    const r = native.reap(pid);
    if (r) return r;
    if (Date.now() > until) throw new Error(`pid ${pid} did not exit within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** /proc/<pid>/stat fields after the command name: [state, ppid, pgrp, session, …]. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function procStatus(pid: number, key: string): string {
  return readFileSync(`/proc/${pid}/status`, 'latin1').match(new RegExp(`^${key}:\\s*(.*)$`, 'm'))?.[1] ?? '';
}

function spawnFails(file: string, argv: string[], extra: Partial<NativeSpawnOptions> = {}) {
  try {
    spawn(file, argv, extra);
  } catch (err) {
    return err as Error & { code: string; errno: number; syscall: string };
  }
  assert.fail(`spawning ${file} did not fail`);
}

describe('native addon: spawn, reap, peek', () => {
  it('decodes an exit code and a killing signal from the wait status', async () => {
    const three = spawn('/bin/sh', ['sh', '-c', 'exit 3']);
    assert.deepEqual(await waitExit(three.pid), { pid: three.pid, code: 3, signal: null });
    const killed = spawn('/bin/sh', ['sh', '-c', 'kill -TERM $$']);
    assert.deepEqual(await waitExit(killed.pid), { pid: killed.pid, code: null, signal: 15 });
  });

  it("pgroup 'pgroup': the child leads its own process group in ringmaster's session", async () => {
    const { pid } = spawn('/bin/sleep', ['sleep', '5']);
    const [, ppid, pgrp, session] = statFields(pid);
    assert.equal(Number(ppid), process.pid);
    assert.equal(Number(pgrp), pid, 'pgid (/proc/<pid>/stat field 5) is not the pid');
    assert.equal(session, statFields(process.pid)[3]);
    process.kill(-pid, 'SIGKILL');
    assert.equal((await waitExit(pid)).signal, 9);
  });

  it("pgroup 'session': the child leads a new session and group (setsid)", async () => {
    const { pid } = spawn('/bin/sleep', ['sleep', '5'], { pgroup: 'session' });
    const [, , pgrp, session] = statFields(pid);
    assert.equal(Number(pgrp), pid);
    assert.equal(Number(session), pid);
    process.kill(pid, 'SIGKILL');
    await waitExit(pid);
  });

  it("pgroup 'none': the child stays in ringmaster's group", async () => {
    const { pid } = spawn('/bin/sleep', ['sleep', '5'], { pgroup: 'none' });
    assert.equal(statFields(pid)[2], statFields(process.pid)[2]);
    process.kill(pid, 'SIGKILL');
    await waitExit(pid);
  });

  it('foreground without a terminal on fd 0 is not an error (ENOTTY is ignored)', async () => {
    const { pid } = spawn('/bin/sh', ['sh', '-c', 'exit 0'], { foreground: true });
    assert.equal((await waitExit(pid)).code, 0);
  });

  it("the child's signals are all default and unblocked, SIGPIPE included (Node ignores it)", async () => {
    assert.notEqual(BigInt(`0x${procStatus(process.pid, 'SigIgn')}`) & (1n << 12n), 0n, 'premise: node ignores SIGPIPE');
    const { pid } = spawn('/bin/sleep', ['sleep', '5']);
    assert.equal(BigInt(`0x${procStatus(pid, 'SigIgn')}`), 0n);
    assert.equal(BigInt(`0x${procStatus(pid, 'SigBlk')}`), 0n);
    process.kill(pid, 'SIGKILL');
    await waitExit(pid);
  });

  it('the child has exactly fds 0, 1 and 2; the parent ends are close-on-exec and non-blocking', async () => {
    const r = spawn('/bin/sleep', ['sleep', '5'], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
    // CLONE_VFORK lets the parent go on at exec's mm switch, a moment before the kernel closes
    // the close-on-exec fds (begin_new_exec): on a loaded machine the report pipe can still be
    // seen, and sleep itself opens its locale files for a moment. A leaked fd never goes away, so
    // wait (bounded) for a listing of only 0, 1 and 2, and judge that same listing.
    const fds = () => readdirSync(`/proc/${r.pid}/fd`).sort();
    let seen = fds();
    for (const until = Date.now() + 2000; seen.length > 3 && Date.now() < until; seen = fds()) await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(seen, ['0', '1', '2']);
    for (const fd of [r.stdinFd, r.stdoutFd, r.stderrFd]) {
      const flags = parseInt(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1').match(/^flags:\s*(\d+)/m)![1], 8);
      assert.ok(flags & 0o2000000, `fd ${fd} is not O_CLOEXEC`);
      assert.ok(flags & 0o4000, `fd ${fd} is not O_NONBLOCK`);
    }
    process.kill(r.pid, 'SIGKILL');
    await waitExit(r.pid);
    for (const fd of [r.stdinFd, r.stdoutFd, r.stderrFd]) closeSync(fd);
  });

  it('reports a failed step with errno, code and syscall, and leaves no child and no fd behind', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-native-'));
    const plain = path.join(dir, 'plain');
    writeFileSync(plain, '#!/bin/sh\n');
    chmodSync(plain, 0o644);
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const childrenBefore = readFileSync(`/proc/self/task/${process.pid}/children`, 'latin1');

    const missing = spawnFails(path.join(dir, 'missing'), ['missing']);
    assert.deepEqual([missing.code, missing.errno, missing.syscall], ['ENOENT', 2, 'exec']);
    const notExecutable = spawnFails(plain, ['plain']);
    assert.deepEqual([notExecutable.code, notExecutable.syscall], ['EACCES', 'exec']);
    assert.equal(spawnFails(dir, ['dir']).code, 'EACCES'); // execve of a directory
    const chdir = spawnFails('/bin/true', ['true'], { cwd: path.join(dir, 'nope'), stdout: 'pipe', stderr: 'pipe' });
    assert.deepEqual([chdir.code, chdir.syscall], ['ENOENT', 'chdir']);
    for (let i = 0; i < 50; i++) spawnFails(plain, ['plain'], { stdin: 'pipe', stdout: 'pipe', stderr: 'stdout' });

    assert.equal(readdirSync('/proc/self/fd').length, fdsBefore, 'fds leaked');
    assert.equal(readFileSync(`/proc/self/task/${process.pid}/children`, 'latin1'), childrenBefore, 'a failed child is left');
    rmSync(dir, { recursive: true });
  });

  it('rejects options that are not strings where strings are needed', () => {
    assert.throws(() => native.spawn({ file: '/bin/true', argv: ['true', 1 as unknown as string], env: [], pgroup: 'none', stdin: 'null', stdout: 'null', stderr: 'null' }), TypeError);
    assert.throws(() => native.reap(0), TypeError);
  });

  it('reap of a pid that is not our child is null; peek with no ended child is 0', () => {
    assert.equal(native.reap(1), null);
    assert.equal(native.peek(), 0);
  });

  it('peek names an ended child without reaping it; reap then does', async () => {
    const { pid } = spawn('/bin/sh', ['sh', '-c', 'exit 5']);
    const until = Date.now() + 5000;
    while (native.peek() !== pid && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.equal(native.peek(), pid);
    assert.equal(statFields(pid)[0], 'Z', 'peek reaped it');
    assert.deepEqual(native.reap(pid), { pid, code: 5, signal: null });
    assert.equal(native.peek(), 0);
  });

  it('setSubreaper succeeds', () => {
    assert.equal(native.setSubreaper(), true);
  });
});
