// The Reaper (src/pid1/reaper.ts) with real processes, SPEC §4: orphans are reaped when ringmaster
// is a child subreaper (not PID 1) and when it is PID 1 (this file re-runs itself under
// `unshare --pid --fork --mount-proc`), while child_process children keep their own 'exit' events.
// Uses the compiled addon: run `node scripts/build.mjs --no-sea` first (npm test does).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { WaitResult } from '../src/pid1/native-types';
import { native } from '../src/pid1/native';
import { Reaper } from '../src/pid1/reaper';
import { spawnProcess } from '../src/pid1/spawn';
import { canUnshare, NO_UNSHARE } from './support/ringmaster';

const ENV = { PATH: '/usr/bin:/bin' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: more than ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

/** State letter from /proc/<pid>/stat ('' once gone); the command name may hold spaces. */
function procState(pid: number | string): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return '';
  }
}

function childPidsOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ').filter(Boolean).map(Number),
  );
}

/**
 * n child_process children with known ends: exit i % 7, every 10th killed by SIGTERM.
 * Resolves to how many reported exactly that through their 'exit' event.
 */
async function libuvChildren(n: number): Promise<number> {
  const ends = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<boolean>((resolve) => {
        const script = i % 10 === 9 ? 'kill -TERM $$' : `exit ${i % 7}`;
        execFile('sh', ['-c', script], (err) => {
          const e = err as (Error & { code?: number; signal?: string }) | null;
          resolve(i % 10 === 9 ? e?.signal === 'SIGTERM' : (e?.code ?? 0) === i % 7);
        });
      }),
    ),
  );
  return ends.filter(Boolean).length;
}

/** The PID-1 scenario, run inside the new PID namespace; prints one JSON line. */
async function pid1Scenario(): Promise<void> {
  const reaper = new Reaper();
  const orphans: WaitResult[] = [];
  reaper.onOrphanReaped((_pid, status) => orphans.push(status));
  let reaperMs = 0;
  const drain = reaper.drain.bind(reaper);
  reaper.drain = () => {
    const t = performance.now();
    drain();
    reaperMs += performance.now() - t;
  };
  reaper.start();
  const t0 = performance.now();
  const storm = spawnProcess({
    // dash reaps its own background jobs that end while it still runs, so each `sleep 1` must
    // outlive the shell that started it to become an orphan: 10 shells start 100 each and exit.
    argv: ['sh', '-c', "for i in $(seq 10); do sh -c 'for j in $(seq 100); do sleep 1 & done'; done; exit 0"],
    env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'null', stderr: 'null',
  });
  const [libuvOk, stormEnd] = await Promise.all([libuvChildren(200), storm.exited]);
  const deadline = Date.now() + 20_000;
  while (orphans.length < 1000 && Date.now() < deadline) await sleep(20);
  const allReapedMs = performance.now() - t0;
  await sleep(200);
  const others = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  console.log(JSON.stringify({
    pid: process.pid,
    stormCode: stormEnd.code,
    orphans: orphans.length,
    orphansOk: orphans.filter((s) => s.code === 0 && s.signal === null).length,
    libuvOk,
    zombies: others.filter((p) => procState(p) === 'Z').length,
    othersLeft: others.length,
    allReapedMs: Math.round(allReapedMs),
    reaperMs: Math.round(reaperMs * 10) / 10,
  }));
  reaper.stop();
}

if (process.env.RM_REAPER_TEST_PID1) {
  void pid1Scenario();
} else {
  // A child_process child started before any Reaper: the ownership wrapper is installed at import.
  const early = spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
  const earlyExit = new Promise<number | null>((resolve) => early.on('exit', resolve));

  const reaper = new Reaper();
  const orphans = new Map<number, WaitResult>();
  reaper.onOrphanReaped((pid, status) => orphans.set(pid, status));
  const spawned: number[] = [];
  before(() => reaper.start());
  after(() => {
    reaper.stop();
    for (const pid of spawned) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }
  });

  describe('Reaper, not PID 1: child subreaper (SPEC §4)', () => {
    it('never reaps a child_process child, even one started before it and already ended', async () => {
      // early has ended; libuv has not yet run its SIGCHLD handler (this is still the first turn).
      const end = Date.now() + 2000;
      while (procState(early.pid!) !== 'Z' && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      assert.equal(procState(early.pid!), 'Z');
      const probe = new Reaper();
      probe.drain();
      probe.stop();
      assert.equal(await within(earlyExit, 5000, "the early child's 'exit'"), 7);
      assert.equal(orphans.has(early.pid!), false);
    });

    it('an ended child_process child at the head of the wait queue holds back neither ours nor orphans', async () => {
      const older = spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' });
      const olderExit = new Promise<number | null>((resolve) => older.on('exit', resolve));
      const ours = spawnProcess({ argv: ['sh', '-c', 'sleep 0.05 & exit 4'], env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'null', stderr: 'null' });
      // All three end within this turn, so libuv cannot have reaped `older` yet, and waitid
      // reports the oldest child first.
      const adopted = () => childPidsOf(process.pid).filter((p) => p !== older.pid && p !== ours.pid);
      const end = Date.now() + 2000;
      while ((procState(older.pid!) !== 'Z' || procState(ours.pid) !== 'Z' || adopted().length !== 1 || procState(adopted()[0]) !== 'Z') && Date.now() < end) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
      const [orphan] = adopted();
      assert.equal(native.peek(), older.pid, 'premise: the child_process zombie heads the wait queue');
      assert.equal(procState(orphan), 'Z', 'premise: an adopted orphan has ended');
      const probe = new Reaper();
      const seen: number[] = [];
      probe.onOrphanReaped((pid) => seen.push(pid));
      probe.drain(); // first attempt: our own child is reaped at once
      assert.equal(procState(ours.pid), '', 'our ended child was left behind the child_process one');
      probe.drain(); // the same child still in the way: orphans are reaped past it
      probe.stop();
      assert.deepEqual(seen, [orphan]);
      assert.equal(procState(older.pid!), 'Z', 'the child_process child was reaped by us, not libuv');
      assert.deepEqual(await within(ours.exited, 1000, 'our exit'), { pid: ours.pid, code: 4, signal: null });
      assert.equal(await within(olderExit, 5000, "the child_process 'exit'"), 0);
    });

    it("an orphan's parent becomes ringmaster, and the orphan is reaped when it ends", async () => {
      const child = spawnProcess({ argv: ['sh', '-c', 'sleep 0.5 </dev/null >/dev/null 2>&1 & echo $!'], env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'pipe', stderr: 'null' });
      spawned.push(child.pid);
      let out = '';
      for await (const chunk of child.stdout!.stream()) out += chunk;
      const orphan = Number(out.trim());
      assert.equal((await within(child.exited, 5000, 'the shell')).code, 0);
      const stat = readFileSync(`/proc/${orphan}/stat`, 'latin1');
      assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), process.pid, "the orphan's ppid is not ringmaster");
      await until(() => orphans.has(orphan), 5000, 'orphan reaped');
      assert.deepEqual(orphans.get(orphan), { pid: orphan, code: 0, signal: null });
      assert.equal(procState(orphan), '', 'the orphan is still in /proc');
    });

    it("reaps 100 orphans while 200 child_process children all get their own 'exit' with the right status", async () => {
      // `sleep 1` outlives the loop by far: dash would reap a job that ended while it still ran.
      const child = spawnProcess({ argv: ['sh', '-c', 'for i in $(seq 100); do sleep 1 >/dev/null & echo $!; done; exit 0'], env: ENV, pgroup: 'pgroup', stdin: 'null', stdout: 'pipe', stderr: 'null' });
      spawned.push(child.pid);
      const out = (async () => {
        let s = '';
        for await (const chunk of child.stdout!.stream()) s += chunk;
        return s.trim().split('\n').map(Number);
      })();
      assert.equal(await within(libuvChildren(200), 20_000, 'child_process children'), 200);
      const pids = await out;
      assert.equal((await within(child.exited, 5000, 'the shell')).code, 0);
      await until(() => pids.every((p) => orphans.has(p)), 10_000, 'all 100 orphans reaped');
      assert.ok(pids.every((p) => orphans.get(p)!.code === 0));
    });
  });

  describe('Reaper as PID 1 (SPEC §4)', () => {
    it('1000 orphans end as 0 zombies; 200 child_process children meanwhile keep their exit statuses', { skip: canUnshare() ? undefined : NO_UNSHARE, timeout: 90_000 }, async () => {
      const child = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', process.execPath, '--import', 'tsx', import.meta.filename], {
        env: { ...process.env, RM_REAPER_TEST_PID1: '1' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await within(new Promise<number | null>((resolve) => child.on('close', resolve)), 60_000, 'the PID-1 run').catch((err) => {
        child.kill('SIGKILL'); // --kill-child takes the namespace down with it
        throw err;
      });
      assert.equal(code, 0);
      const r = JSON.parse(out.trim().split('\n').pop()!);
      console.log(`PID 1 run: ${JSON.stringify(r)}`);
      assert.equal(r.pid, 1);
      assert.equal(r.stormCode, 0);
      assert.equal(r.orphans, 1000);
      assert.equal(r.orphansOk, 1000);
      assert.equal(r.libuvOk, 200);
      assert.equal(r.zombies, 0);
      assert.equal(r.othersLeft, 0);
    });
  });
}
