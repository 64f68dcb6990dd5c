// SPEC §9 `ringmaster pidproxy PIDFILE CMD…`, side by side with Supervisor's own pidproxy
// (/usr/bin/pidproxy from Debian's supervisor package): signals go to the pid in PIDFILE; the
// exit status when it ends; what happens while PIDFILE is missing. Where the two differ, the
// difference is ringmaster's documented choice (README "pidproxy") and asserted as such.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ringmaster, alive, childrenOf, tempDir } from './support/ringmaster';

const SUPERVISOR_PIDPROXY = '/usr/bin/pidproxy';
const NO_PIDPROXY = existsSync(SUPERVISOR_PIDPROXY) ? undefined : 'Supervisor\'s pidproxy is not installed (Debian package supervisor)';

/**
 * mysqld_safe's shape: CMD stays in the foreground; its child, the server, writes PIDFILE, exits
 * 0 on TERM and 5 on USR1 (traps set before it says up); CMD exits with the server's status.
 */
const WRAPPER = `#!/bin/sh
/bin/sh -c 'trap "echo server got TERM; exit 0" TERM; trap "echo server got USR1; exit 5" USR1; echo $$ > "$0"; echo "server up $$"; while :; do sleep 0.2; done' "$1" &
wait $!
exit $?
`;

/** A daemonizing CMD: a new session writes PIDFILE, exits 3 on USR1; CMD itself exits 0 at once. */
const DAEMONIZER = `#!/bin/sh
setsid /bin/sh -c 'trap "exit 3" USR1; echo $$ > "$0"; echo "daemon up $$"; while :; do sleep 0.2; done' "$1" &
exit 0
`;

/** CMD with no PIDFILE at all: exits 6 on TERM. */
const PLAIN = `#!/bin/sh
trap "echo cmd got TERM; exit 6" TERM
echo "cmd up"
while :; do sleep 0.2; done
`;

function fixtures() {
  const dir = tempDir('rm-pidproxy-');
  const files = { wrapper: WRAPPER, daemonizer: DAEMONIZER, plain: PLAIN };
  const paths = {} as Record<keyof typeof files, string>;
  for (const [name, text] of Object.entries(files)) {
    paths[name as keyof typeof files] = path.join(dir, `${name}.sh`);
    writeFileSync(paths[name as keyof typeof files], text, { mode: 0o755 });
  }
  return { dir, ...paths };
}

const ours = (pidfile: string, ...cmd: string[]) => new Ringmaster({ args: ['pidproxy', pidfile, ...cmd] });
const theirs = (pidfile: string, ...cmd: string[]) => new Ringmaster({ command: [SUPERVISOR_PIDPROXY], args: [pidfile, ...cmd] });

/** SIGKILL by pid; one that ended since it was listed is no error. */
function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Kill a proxy and what it started, by pid. */
function killTree(p: Ringmaster): void {
  for (const child of childrenOf(p.proc.pid!)) {
    childrenOf(child).forEach(kill);
    kill(child);
  }
  p.kill();
}

describe('ringmaster pidproxy, side by side with Supervisor\'s', { skip: NO_PIDPROXY, concurrency: true }, () => {
  it('forwards TERM to the pid in PIDFILE; both end with status 0 once the server stopped', async () => {
    const f = fixtures();
    const runs = [ours(path.join(f.dir, 'a.pid'), f.wrapper, path.join(f.dir, 'a.pid')), theirs(path.join(f.dir, 'b.pid'), f.wrapper, path.join(f.dir, 'b.pid'))];
    try {
      await Promise.all(runs.map((p) => p.waitFor(/server up \d+/, 30_000)));
      for (const p of runs) process.kill(p.proc.pid!, 'SIGTERM');
      // wait() ends when every holder of the output pipe is gone: Supervisor's pidproxy exits
      // right after forwarding, before the server has written its line.
      const [mine, supervisors] = await Promise.all(runs.map((p) => p.wait()));
      for (const p of runs) assert.match(p.stdout, /server got TERM/);
      assert.deepEqual(mine, { code: 0, signal: null });
      assert.deepEqual(supervisors, { code: 0, signal: null });
    } finally {
      runs.forEach(killTree);
    }
  });

  it('other signals are forwarded too; the exit status is the status of the end (Supervisor\'s: always 0)', async () => {
    const f = fixtures();
    const runs = [ours(path.join(f.dir, 'a.pid'), f.wrapper, path.join(f.dir, 'a.pid')), theirs(path.join(f.dir, 'b.pid'), f.wrapper, path.join(f.dir, 'b.pid'))];
    try {
      await Promise.all(runs.map((p) => p.waitFor(/server up \d+/, 30_000)));
      for (const p of runs) process.kill(p.proc.pid!, 'SIGUSR1');
      // Supervisor's notices its child's end on its next 5 s tick and exits 0.
      const [mine, supervisors] = await Promise.all(runs.map((p) => p.wait(15_000)));
      for (const p of runs) assert.match(p.stdout, /server got USR1/);
      assert.deepEqual(mine, { code: 5, signal: null }, 'ringmaster: the server\'s status, passed on by CMD');
      assert.deepEqual(supervisors, { code: 0, signal: null });
    } finally {
      runs.forEach(killTree);
    }
  });

  it('while PIDFILE is missing: Supervisor\'s drops the signal and keeps running, ringmaster\'s sends it to CMD', async () => {
    const f = fixtures();
    const missing = path.join(f.dir, 'never.pid');
    const runs = [ours(missing, f.plain), theirs(missing, f.plain)];
    const [mine, supervisors] = runs;
    try {
      await Promise.all(runs.map((p) => p.waitFor(/cmd up/, 30_000)));
      for (const p of runs) process.kill(p.proc.pid!, 'SIGTERM');
      await supervisors.waitFor(/Can't read child pidfile/);
      await mine.waitFor(/can't read .*never\.pid \(ENOENT\): SIGTERM sent to .*plain\.sh \(pid \d+\) instead/);
      assert.deepEqual(await mine.wait(), { code: 6, signal: null });
      assert.match(mine.stdout, /cmd got TERM/);
      assert.ok(alive(supervisors.proc.pid!), 'Supervisor\'s pidproxy runs on');
      assert.doesNotMatch(supervisors.stdout, /cmd got TERM/);
    } finally {
      runs.forEach(killTree);
    }
  });
});

describe('ringmaster pidproxy', { concurrency: true }, () => {
  it('a CMD that daemonizes: waits for the daemon of PIDFILE (its subreaper) and exits with its status', async () => {
    const f = fixtures();
    const pidfile = path.join(f.dir, 'd.pid');
    const p = ours(pidfile, f.daemonizer, pidfile);
    try {
      const up = await p.waitFor(/daemon up (\d+)/, 30_000);
      process.kill(p.proc.pid!, 'SIGUSR1');
      assert.deepEqual(await p.wait(), { code: 3, signal: null });
      assert.equal(alive(Number(up[1])), false);
    } finally {
      killTree(p);
    }
  });

  it('usage: --help exits 0; no CMD exits 2; a CMD that is not found exits 127', async () => {
    const help = new Ringmaster({ args: ['pidproxy', '--help'] });
    assert.equal((await help.wait()).code, 0);
    assert.match(help.stdout, /^Usage: ringmaster pidproxy PIDFILE CMD/);
    const none = new Ringmaster({ args: ['pidproxy', '/tmp/x.pid'] });
    assert.equal((await none.wait()).code, 2);
    const missing = new Ringmaster({ args: ['pidproxy', '/tmp/x.pid', '/nonexistent/cmd'] });
    assert.equal((await missing.wait()).code, 127);
    assert.match(missing.stderr, /can't find command '\/nonexistent\/cmd'/);
  });
});
