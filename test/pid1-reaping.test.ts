// SPEC §4: as PID 1 ringmaster reaps every zombie, orphans included; when not PID 1 it is a child
// subreaper, so its programs' orphans come to it and are reaped too. End to end with the built
// artifacts: the single executable in an image-like root (test/support/rootfs.ts) and the bundle
// under `unshare`, both as PID 1, zombies counted in the namespace's /proc entries from outside.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { NO_UNSHARE, Ringmaster, alive, canUnshare, childrenOf, eventually, sleep, writeConfig } from './support/ringmaster';
import { Rootfs, namespacePids, procState, rootfsSkipReason, zombiesInNamespace } from './support/rootfs';

/**
 * 10 shells each start 100 `sleep 6` in the background and exit: 1000 orphans for PID 1 (6 s: on
 * a loaded machine spawning them all takes seconds, and they must still run when counted).
 */
const THOUSAND_ORPHANS = 'for i in $(seq 10); do sh -c \'for j in $(seq 100); do sleep 6 & done\'; done; echo spawned; sleep 30';

/** After the orphans were spawned: wait until all of them ended, then count the zombies left. */
async function orphansEndWithoutZombies(rm: Ringmaster): Promise<void> {
  // The program's own line (`spawner | spawned` in supervisor mode), not ringmaster's `spawned: …`.
  await rm.waitFor(/^(spawner +\| )?spawned$/m, 30_000);
  const pid = await rm.ringmasterPid();
  const first = namespacePids(pid).length;
  assert.ok(first > 500, `expected the orphans to be running, saw ${first} processes`);
  // Left: ringmaster, the command's shell and its `sleep 30`.
  await eventually(() => namespacePids(pid).filter((p) => procState(p) !== 'Z').length <= 3, 30_000, 'orphans ended');
  await sleep(200);
  assert.equal(zombiesInNamespace(pid), 0, 'zombies left in the namespace');
  await rm.signal('SIGTERM');
  await rm.wait();
}

describe('reaping as PID 1 (SPEC §4)', () => {
  describe('the single executable in an image-like root', { skip: rootfsSkipReason() }, () => {
    let root: Rootfs;
    before(() => {
      root = Rootfs.create();
    });
    after(() => root?.remove());

    it('single-command mode: 1000 orphans end as 0 zombies', async () => {
      await orphansEndWithoutZombies(root.run({ args: ['--', 'sh', '-c', THOUSAND_ORPHANS] }));
    });

    it('supervisor mode: 1000 orphans of a program end as 0 zombies', async () => {
      const config = root.write('/etc/ringmaster.yaml', `programs:\n  spawner: {command: ${JSON.stringify(['sh', '-c', THOUSAND_ORPHANS])}, startsecs: 0}\n`);
      await orphansEndWithoutZombies(root.run({ env: { RINGMASTER_CONFIG: config } }));
    });
  });

  it('the bundle under unshare: 1000 orphans end as 0 zombies', { skip: canUnshare() ? undefined : NO_UNSHARE }, async () => {
    await orphansEndWithoutZombies(new Ringmaster({ pid1: true, args: ['--', 'sh', '-c', THOUSAND_ORPHANS] }));
  });
});

describe('reaping when not PID 1: child subreaper (SPEC §4, scenario 19)', () => {
  it('supervisor mode: a program\'s orphans are re-parented to ringmaster and reaped', async () => {
    const rm = new Ringmaster({ args: ['-c', writeConfig(`programs:
  spawner: {command: ${JSON.stringify(['sh', '-c', 'for i in $(seq 20); do sh -c "sleep 3 </dev/null >/dev/null 2>&1 &"; done; echo spawned; sleep 30'])}, startsecs: 0}
`)] });
    try {
      await rm.waitFor(/^spawner +\| spawned$/m);
      const pid = await rm.ringmasterPid();
      // A child may end between the listing and the read of its name (the spawner's shells).
      const comm = (p: number) => {
        try {
          return readFileSync(`/proc/${p}/comm`, 'utf8').trim();
        } catch {
          return '';
        }
      };
      const adopted = childrenOf(pid).filter((p) => comm(p) === 'sleep');
      assert.equal(adopted.length, 20, 'orphans were not re-parented to ringmaster');
      await eventually(() => adopted.every((p) => !alive(p) && procState(p) === ''), 10_000, 'orphans reaped');
    } finally {
      // Also when an assertion failed: ringmaster stops its program, and the test does not hang.
      await rm.signal('SIGTERM').catch(() => {});
    }
    assert.equal((await rm.wait()).code, 0);
  });
});
