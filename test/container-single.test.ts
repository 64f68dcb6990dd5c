// The single executable in an image-like world (test/support/rootfs.ts): only dist/ringmaster,
// its shared libraries and busybox, entered with unshare so ringmaster is PID 1 like the
// Dockerfile's ENTRYPOINT, signalled from outside like `docker stop` / `docker kill` do.
// Single-command mode (SPEC §1, §4, §5; scenarios of container-init.md §3.3) and NODE_OPTIONS (SPEC §4).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Rootfs, rootfsSkipReason, zombiesInNamespace } from './support/rootfs';
import { childrenOf, eventually, sleep } from './support/ringmaster';

const skip = rootfsSkipReason();
if (skip) process.stderr.write(`container-single: skipped: ${skip}\n`);

describe('the single executable as PID 1 of an image-like root, single-command mode', { skip }, () => {
  let root: Rootfs;
  before(() => {
    root = Rootfs.create();
  });
  after(() => root?.remove());

  it('is PID 1 and runs its command as its child (scenario 1)', async () => {
    // Not PID 2 as under tini: Node's threads take the first thread ids of the namespace.
    const rm = root.run({ args: ['--', 'sh', '-c', 'echo $$; cat /proc/1/comm; cut -d" " -f4 /proc/$$/stat'] });
    assert.equal((await rm.wait()).code, 0);
    const [pid, comm, ppid] = rm.stdout.trim().split('\n');
    assert.ok(Number(pid) > 1);
    assert.equal(comm, 'ringmaster');
    assert.equal(ppid, '1');
  });

  it('passes exit statuses, 128+N, 126 and 127 through (scenarios 2, 3, 4)', async () => {
    const cases: Array<[string[], number]> = [
      [['sh', '-c', 'exit 0'], 0],
      [['sh', '-c', 'exit 3'], 3],
      [['sh', '-c', 'exit 255'], 255],
      [['sh', '-c', 'kill -TERM $$'], 143],
      [['sh', '-c', 'kill -KILL $$'], 137],
      [['sh', '-c', 'kill -SEGV $$'], 139],
      [['sh', '-c', 'kill -INT $$'], 130],
      [['/etc/passwd'], 126],
      [['no-such-program'], 127],
    ];
    for (const [cmd, code] of cases) {
      const rm = root.run({ args: ['--', ...cmd] });
      assert.equal((await rm.wait()).code, code, cmd.join(' '));
    }
  });

  it('TERM from outside reaches the program, which exits with its own code (scenario 8)', async () => {
    const rm = root.run({ args: ['--', 'sh', '-c', 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.05; done'] });
    await rm.waitFor(/ready/);
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 42);
    assert.match(rm.stdout, /got TERM/);
  });

  it('SIGKILLs a TERM-ignoring program after --grace and logs it (scenario 12)', async () => {
    const rm = root.run({ args: ['--grace', '400ms', '--', 'sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'] });
    await rm.waitFor(/ready/);
    const t0 = Date.now();
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 137);
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
    assert.match(rm.stderr, /^ringmaster: sh still running 0\.4s after SIGTERM: sending SIGKILL/m);
  });

  it('USR1 is forwarded and opens no debugger (SPEC §4)', async () => {
    const rm = root.run({ args: ['--', 'sh', '-c', 'trap "echo got USR1" USR1; echo ready; while :; do sleep 0.05; done'] });
    await rm.waitFor(/ready/);
    await rm.signal('SIGUSR1');
    await rm.waitFor(/got USR1/);
    await sleep(200);
    // The namespace shares our network namespace: 9229 would show up in our /proc/net/tcp.
    const tcp = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8');
    assert.doesNotMatch(tcp, /:2405 [0-9A-F:]+ 0A /);
    assert.doesNotMatch(rm.stderr, /Debugger listening/);
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 143);
  });

  it('waits for a background worker\'s TERM cleanup before exiting with the command\'s code (scenario 15)', async () => {
    const rm = root.run({ args: ['--', 'sh', '-c',
      '(trap \'sleep 0.5; echo cleaned > /tmp/cleanup; exit 0\' TERM; while :; do sleep 0.05; done) & sleep 0.3; exit 4'] });
    assert.equal((await rm.wait()).code, 4);
    assert.equal(root.read('/tmp/cleanup'), 'cleaned\n');
  });

  it('reaps the orphans of 50 short-lived shells: no zombie left (scenario 6)', async () => {
    const rm = root.run({ args: ['--', 'sh', '-c', 'for i in $(seq 50); do sh -c "sleep 0.2 &"; done; echo spawned; sleep 2'] });
    await rm.waitFor(/spawned/);
    const pid = await rm.ringmasterPid();
    await sleep(1000);
    assert.equal(zombiesInNamespace(pid), 0);
    assert.equal((await rm.wait()).code, 0);
  });

  it('the child keeps the caller\'s cwd, ringmaster moves to / (scenario 25)', async () => {
    const rm = root.run({ cwd: '/tmp', args: ['--', 'sh', '-c', 'pwd; readlink /proc/1/cwd'] });
    assert.equal((await rm.wait()).code, 0);
    assert.equal(rm.stdout, '/tmp\n/\n');
  });

  it('NODE_OPTIONS meant for the program neither breaks nor changes ringmaster, and reaches the program (SPEC §4)', async () => {
    const rm = root.run({
      env: { NODE_OPTIONS: '--require /nonexistent.js --inspect=0.0.0.0:9230' },
      args: ['--', 'sh', '-c', 'echo "NODE_OPTIONS=$NODE_OPTIONS"; echo ready; sleep 0.5'],
    });
    await rm.waitFor(/ready/);
    const pid = await rm.ringmasterPid();
    const tcp = readFileSync('/proc/net/tcp', 'utf8');
    assert.doesNotMatch(tcp, /:2406 [0-9A-F:]+ 0A /, 'ringmaster opened the inspector from NODE_OPTIONS');
    assert.deepEqual(childrenOf(pid).length, 1);
    assert.equal((await rm.wait()).code, 0);
    assert.equal(rm.stdout, 'NODE_OPTIONS=--require /nonexistent.js --inspect=0.0.0.0:9230\nready\n');
    assert.equal(rm.stderr, '');
  });

  it('RM_NODE_OPTS is what the single executable reads instead (for debugging ringmaster itself)', async () => {
    const rm = root.run({ env: { RM_NODE_OPTS: '--require /nonexistent.js' }, args: ['--', 'true'] });
    const exit = await rm.wait();
    assert.notEqual(exit.code, 0);
    assert.match(rm.stderr, /Cannot find module '\/nonexistent\.js'/);
  });

  it('the image holds no node and no node_modules: the binary stands alone', async () => {
    const rm = root.run({ args: ['--', 'sh', '-c', 'command -v node || echo no-node; ls /usr/local/bin; ls -d /node_modules /usr/lib/node_modules 2>&1 | grep -c "No such"'] });
    await rm.wait();
    assert.match(rm.stdout, /^no-node$/m);
    assert.match(rm.stdout, /^ringmaster$/m);
    assert.match(rm.stdout, /^2$/m);
    await eventually(() => true);
  });
});
