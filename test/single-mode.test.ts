// Single-command mode (`ringmaster [options] -- CMD ARGS…`, SPEC §1, §4, §5): the tini / dumb-init
// replacement, end to end with the built bundle (`node dist/ringmaster.cjs`), as a normal process
// and as PID 1 of a new PID namespace. Scenario numbers are those of
// shared/reference/container-init.md §3.3. The same behaviour with the single executable in an
// image-like root is in container-single.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BUNDLE, NO_UNSHARE, Ringmaster, alive, canUnshare, childrenOf, eventually, sleep, tempDir } from './support/ringmaster';

const started: Ringmaster[] = [];
function single(args: string[], opts: { pid1?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Ringmaster {
  const rm = new Ringmaster({ args, pid1: opts.pid1, env: opts.env, cwd: opts.cwd });
  started.push(rm);
  return rm;
}
// A failed assertion may leave a run behind: end every one still running, by its pids.
after(async () => {
  for (const rm of started) if (rm.proc.exitCode === null && rm.proc.signalCode === null) await killAll(rm);
});

/** The state letter of a process from /proc/PID/stat (R, S, T, Z …), '' when gone. */
function state(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return '';
  }
}

/** Whether something listens on TCP port `port` (any address), from /proc/net/tcp{,6}. */
export function listening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[1].endsWith(hex) && f[3] === '0A') return true;
    }
  }
  return false;
}

/** End a test's run for good: SIGKILL the command's process group(s), then ringmaster. */
async function killAll(rm: Ringmaster): Promise<void> {
  const rmPid = await rm.ringmasterPid(1000).catch(() => 0);
  for (const child of rmPid ? childrenOf(rmPid) : []) {
    try {
      process.kill(-child, 'SIGKILL');
    } catch {
      // not a group leader, or gone
    }
  }
  rm.kill();
  await rm.wait();
}

/** Run `fn` over `items` with at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const SIG = constants.signals as Record<string, number>;

for (const pid1 of [false, true]) {
  const where = pid1 ? 'as PID 1' : 'not PID 1';
  const skip = pid1 && !canUnshare() ? NO_UNSHARE : undefined;

  describe(`single-command mode ${where} (SPEC §5 exit codes)`, { skip }, () => {
    it('passes every exit status 0..255 through unchanged (scenario 2)', { skip: pid1 ? 'done not as PID 1 (all 256 codes); a sample below' : undefined }, async () => {
      const codes = Array.from({ length: 256 }, (_, i) => i);
      const wrong: string[] = [];
      await pool(codes, 12, async (code) => {
        const exit = await single(['--', 'sh', '-c', `exit ${code}`]).wait();
        if (exit.code !== code) wrong.push(`${code} -> ${exit.code}`);
      });
      assert.deepEqual(wrong, []);
    });

    it('passes a sample of exit statuses through unchanged (scenario 2)', async () => {
      for (const code of [0, 1, 3, 42, 126, 127, 128, 200, 255]) {
        const exit = await single(['--', 'sh', '-c', `exit ${code}`], { pid1 }).wait();
        assert.equal(exit.code, code);
      }
    });

    it('gives 128+N when the command is killed by signal N (scenario 3)', async () => {
      for (const sig of ['HUP', 'INT', 'QUIT', 'ABRT', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM']) {
        const exit = await single(['--', 'sh', '-c', `ulimit -c 0; kill -${sig} $$; sleep 5`], { pid1 }).wait();
        assert.equal(exit.code, 128 + SIG[`SIG${sig}`], `killed by SIG${sig}`);
      }
    });

    it('exits 127 with one clear line when the command is not found, 126 when it is not executable (scenario 4)', async () => {
      const missing = single(['--', 'no-such-command-xyz', 'arg'], { pid1 });
      assert.equal((await missing.wait()).code, 127);
      assert.equal(missing.stderr, 'ringmaster: no-such-command-xyz: command not found\n');

      const dir = tempDir();
      const notExec = path.join(dir, 'script.sh');
      spawnSync('sh', ['-c', `printf '#!/bin/sh\\necho hi\\n' > ${notExec}; chmod 644 ${notExec}`]);
      const denied = single(['--', notExec], { pid1 });
      assert.equal((await denied.wait()).code, 126);
      assert.equal(denied.stderr.trim().split('\n').length, 1);
      assert.match(denied.stderr, new RegExp(`^ringmaster: ${notExec}: .*not executable`));
    });

    it('rejects a missing command and a bad option with the usage and exit 2 (scenario 5)', async () => {
      const none = single(['--'], { pid1 });
      assert.equal((await none.wait()).code, 2);
      assert.match(none.stderr, /no command after "--"[\s\S]*Usage: ringmaster \[options\] -- CMD/);
      const bad = single(['--grace', 'soon', '--', 'true'], { pid1 });
      assert.equal((await bad.wait()).code, 2);
      assert.match(bad.stderr, /invalid grace period "soon"/);
    });
  });

  describe(`single-command mode ${where} (SPEC §4 signals)`, { skip }, () => {
    it('TERM to ringmaster reaches the command, whose status is passed through (scenario 8, 11)', async () => {
      const rm = single(['--', 'sh', '-c', 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.05; done'], { pid1 });
      await rm.waitFor(/ready/);
      const t0 = Date.now();
      await rm.signal('SIGTERM');
      const exit = await rm.wait();
      assert.equal(exit.code, 42);
      assert.match(rm.stdout, /got TERM/);
      assert.ok(Date.now() - t0 < 2000);
    });

    it('a command without handlers dies of the forwarded TERM: 143 at once (scenario 11)', async () => {
      const rm = single(['--', 'sleep', '100'], { pid1 });
      const rmPid = await rm.ringmasterPid();
      await eventually(() => childrenOf(rmPid).length > 0, 5000, 'sleep started');
      const t0 = Date.now();
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 143);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    });

    it('kills a TERM-ignoring command\'s group after the grace period and says so (scenario 12)', async () => {
      const rm = single(['--grace', '500ms', '--', 'sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], { pid1 });
      await rm.waitFor(/ready/);
      const t0 = Date.now();
      await rm.signal('SIGTERM');
      const exit = await rm.wait();
      const took = Date.now() - t0;
      assert.equal(exit.code, 137);
      assert.ok(took >= 450 && took < 2000, `took ${took} ms`);
      assert.match(rm.stderr, /^ringmaster: sh still running 0\.5s after SIGTERM: sending SIGKILL to its process group \(\d+\)$/m);
    });

    it('RINGMASTER_GRACE sets the grace period when --grace is not given', async () => {
      const rm = single(['--', 'sh', '-c', 'trap "" INT; echo ready; while :; do sleep 0.05; done'], { pid1, env: { RINGMASTER_GRACE: '300ms' } });
      await rm.waitFor(/ready/);
      await rm.signal('SIGINT');
      assert.equal((await rm.wait()).code, 137);
      assert.match(rm.stderr, /still running 0\.3s after SIGINT/);
    });

    it('delivers a forwarded signal to the whole process group, grandchildren included (scenario 13)', async () => {
      const rm = single(['--', 'sh', '-c', 'trap ":" TERM; echo ready; sleep 3; exit 5'], { pid1 });
      await rm.waitFor(/ready/);
      await sleep(100);
      const t0 = Date.now();
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 5);
      assert.ok(Date.now() - t0 < 1500, `the grandchild sleep was not signalled (took ${Date.now() - t0} ms)`);
    });

    it('forwards USR1, USR2 and WINCH to the command, and USR1 never opens Node\'s debugger (scenario 9)', async () => {
      const rm = single(['--', 'sh', '-c', 'for s in USR1 USR2 WINCH; do trap "echo got $s" $s; done; echo ready; while :; do sleep 0.05; done'], { pid1 });
      await rm.waitFor(/ready/);
      for (const sig of ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const) {
        await rm.signal(sig);
        await rm.waitFor(new RegExp(`got ${sig.slice(3)}`));
      }
      await sleep(200);
      assert.equal(listening(9229), false, 'something listens on 9229 after SIGUSR1');
      assert.doesNotMatch(rm.stderr, /Debugger listening/);
      await killAll(rm);
    });

    it('forwards every other catchable signal once each, in order; ABRT and TRAP too (scenarios 9, 10)', async () => {
      const sigs = ['HUP', 'INT', 'QUIT', 'ALRM', 'PIPE', 'CONT', 'URG', 'ABRT', 'TRAP', 'XCPU', 'VTALRM', 'PWR'];
      const traps = sigs.map((s) => `trap "echo got ${s}" ${s};`).join(' ');
      const rm = single(['--grace', '30s', '--', 'sh', '-c', `${traps} echo ready; while :; do sleep 0.05; done`], { pid1 });
      await rm.waitFor(/ready/);
      for (const s of sigs) {
        await rm.signal(`SIG${s}` as NodeJS.Signals);
        await rm.waitFor(new RegExp(`got ${s}\\n`));
      }
      const got = rm.stdout.split('\n').filter((l) => l.startsWith('got ')).map((l) => l.slice(4));
      assert.deepEqual(got, sigs);
      await killAll(rm);
    });

    it('rewrites signals like dumb-init -r: TERM arrives as QUIT, a dropped INT does not arrive (scenario 18)', async () => {
      const rm = single(['-r', 'TERM:QUIT', '--rewrite', 'INT:0', '--', 'sh', '-c',
        'for s in TERM QUIT INT HUP; do trap "echo got $s" $s; done; echo ready; while :; do sleep 0.05; done'], { pid1 });
      await rm.waitFor(/ready/);
      await rm.signal('SIGTERM');
      await rm.waitFor(/got QUIT/);
      await rm.signal('SIGINT');
      await rm.signal('SIGHUP');
      await rm.waitFor(/got HUP/);
      assert.deepEqual(rm.stdout.split('\n').filter((l) => l.startsWith('got ')), ['got QUIT', 'got HUP']);
      await killAll(rm);
    });

    it('waits for a background worker\'s TERM cleanup after the command exited, then exits with its code (scenario 15)', async () => {
      const dir = tempDir();
      const done = path.join(dir, 'cleanup');
      const rm = single(['--', 'sh', '-c',
        `(trap 'sleep 0.5; echo cleaned > ${done}; exit 0' TERM; echo worker ready; while :; do sleep 0.05; done) & ` +
        'sleep 0.3; exit 4'], { pid1 });
      const exit = await rm.wait();
      assert.equal(exit.code, 4);
      assert.equal(existsSync(done) && readFileSync(done, 'utf8'), 'cleaned\n', 'ringmaster exited before the worker\'s cleanup');
    });

    it('runs the command in the caller\'s cwd while its own cwd is / (scenario 25)', async () => {
      const dir = tempDir();
      const rm = single(['--', 'sh', '-c', 'pwd; sleep 0.3'], { pid1, cwd: dir });
      const rmPid = await rm.ringmasterPid();
      await rm.waitFor(/\n/);
      assert.equal(readlinkSync(`/proc/${rmPid}/cwd`), '/');
      assert.equal((await rm.wait()).code, 0);
      assert.equal(rm.stdout, `${dir}\n`);
    });
  });
}

describe('single-command mode: stdio and job control', () => {
  it('passes stdin, stdout and stderr through untouched, without any prefix (scenario 22)', () => {
    const r = spawnSync(process.execPath, [BUNDLE, '--', 'sh', '-c', 'cat; echo to-stderr >&2'], { input: 'a\nb\n', encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'a\nb\n');
    assert.equal(r.stderr, 'to-stderr\n');
  });

  it('TSTP stops the command, not ringmaster; CONT resumes it (scenario 23)', async () => {
    const rm = single(['--', 'sleep', '30']);
    const rmPid = await rm.ringmasterPid();
    await eventually(() => childrenOf(rmPid).length === 1, 5000, 'sleep started');
    const [child] = childrenOf(rmPid);
    await rm.signal('SIGTSTP');
    await eventually(() => state(child) === 'T', 3000, 'command stopped');
    assert.notEqual(state(rmPid), 'T', 'ringmaster itself stopped');
    await rm.signal('SIGCONT');
    await eventually(() => state(child) === 'S', 3000, 'command resumed');
    // TTIN/TTOU are ignored (as by tini): neither ringmaster nor the command stops.
    await rm.signal('SIGTTIN');
    await rm.signal('SIGTTOU');
    await sleep(200);
    assert.equal(state(child), 'S');
    assert.notEqual(state(rmPid), 'T');
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 143);
  });

  it('not PID 1: orphans of the command come to ringmaster (child subreaper) and are reaped (scenario 19)', async () => {
    const rm = single(['--', 'sh', '-c', 'for i in $(seq 50); do sh -c "sleep 0.3 </dev/null >/dev/null 2>&1 &"; done; echo spawned; sleep 1.5']);
    const rmPid = await rm.ringmasterPid();
    await rm.waitFor(/spawned/);
    // A child may be reaped between listing and reading its comm (a loaded machine): not a sleep then.
    const comm = (p: number) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const adopted = childrenOf(rmPid).filter((p) => comm(p) === 'sleep');
    assert.ok(adopted.length > 0, 'no orphan was re-parented to ringmaster: not a subreaper');
    await eventually(() => adopted.every((p) => !alive(p) && state(p) === ''), 3000, 'orphans reaped (no zombies left)');
    assert.equal((await rm.wait()).code, 0);
  });
});

/** Run `command` (a shell line) on a fresh pty, as `docker run -t` gives one, via util-linux `script`. */
function onPty(command: string, input = ''): { status: number | null; out: string } {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { input, encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, out: r.stdout };
}
const NO_SCRIPT = spawnSync('script', ['--version']).status === 0 ? undefined : 'util-linux `script` is not installed';

describe('single-command mode on a terminal (scenarios 21, 22, 24)', { skip: NO_SCRIPT }, () => {
  const rm = `${process.execPath} ${BUNDLE} --`;

  it('the command\'s process group is the terminal\'s foreground group, so job control works (scenario 21)', () => {
    const fg = onPty(`${rm} sh -c 'cut -d" " -f5,8 /proc/$$/stat'`);
    assert.equal(fg.status, 0);
    const [pgrp, tpgid] = fg.out.trim().split(' ');
    assert.equal(pgrp, tpgid, `pgrp ${pgrp} is not the foreground group ${tpgid}`);
    const interactive = onPty(`${rm} sh -ic 'echo flags=$-'`);
    assert.match(interactive.out, /flags=\S*m/);
    assert.doesNotMatch(interactive.out, /cannot set terminal process group|no job control/);
  });

  it('an interactive filter reads the terminal until EOF (scenario 22)', () => {
    const r = onPty(`${rm} tac`, '1\n2\n3\n');
    assert.equal(r.status, 0);
    assert.match(r.out, /3\r?\n2\r?\n1\r?\n/);
  });

  it('as the session leader owning the terminal, its command gets no hand-off SIGHUP (scenario 24)', () => {
    const r = onPty(`exec ${rm} sh -c 'sleep 0.3; echo alive'`);
    assert.equal(r.status, 0);
    assert.match(r.out, /alive/);
  });
});
