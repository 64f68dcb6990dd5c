// SPEC §10 stages, end to end: ringmaster as PID 1 runs real init programs one at a time before
// any main program, ends the container with a failing init's code (no main program ever started),
// and runs the finish programs after every main program stopped, whatever ended the container,
// without letting their failures change the exit code.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { NO_UNSHARE, Ringmaster, canUnshare, eventually, tempDir, writeConfig } from './support/ringmaster';

/** A program line that appends WORD to the journal file (the order the programs really ran in). */
const note = (journal: string, word: string, then = '') => `["sh", "-c", "echo ${word} >> ${journal}${then ? `; ${then}` : ''}"]`;
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);

describe('stages (SPEC §10)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  it('init programs run one at a time in priority order; a failing one ends the container with its code and no main program starts', async () => {
    const dir = tempDir('rm-stages-');
    const journal = path.join(dir, 'journal');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  first: {command: ${note(journal, 'first-start', `sleep 0.3; echo first-end >> ${journal}`)}, stage: init, priority: 1}
  second: {command: ${note(journal, 'second', 'exit 3')}, stage: init, priority: 2, exitcodes: [0, 2]}
  third: {command: ${note(journal, 'third')}, stage: init, priority: 3}
  web: {command: ${note(journal, 'web', 'sleep 100')}, priority: 0}
  cleanup: {command: ${note(journal, 'cleanup')}, stage: finish}
`, dir)] });
    try {
      assert.equal((await rm.wait(20_000)).code, 3);
      // One at a time (first ended before second began), stopped at the failure, finish still ran.
      assert.deepEqual(lines(journal), ['first-start', 'first-end', 'second', 'cleanup']);
      assert.doesNotMatch(rm.stdout, /spawned: (web|third)/);
      assert.match(rm.stderr, /init: second exited with code 3, not in its exitcodes/);
      assert.match(rm.stdout, /web: STOPPED, never started/);
      assert.match(rm.stdout, /exiting with code 3/);
    } finally {
      rm.kill();
    }
  });

  it('an init program that cannot start ends the container with 127', async () => {
    const dir = tempDir('rm-stages-');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  migrate: {command: /no/such/migrate, stage: init}
  web: {command: sleep 100}
`, dir)] });
    try {
      assert.equal((await rm.wait(20_000)).code, 127);
      assert.doesNotMatch(rm.stdout, /spawned: web/);
      assert.match(rm.stderr, /init: migrate could not start \(exit code 127\)/);
    } finally {
      rm.kill();
    }
  });

  it('after TERM: main starts only after init, then finish programs run in order after it stopped, each bounded by stopwaitsecs; the exit code stays 0', async () => {
    const dir = tempDir('rm-stages-');
    const journal = path.join(dir, 'journal');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  migrate: {command: ${note(journal, 'migrate')}, stage: init}
  web: {command: ["sh", "-c", "trap 'echo web-stopped >> ${journal}; exit 0' TERM; echo ready; while :; do sleep 0.1; done"], startsecs: 0}
  a-hangs: {command: ${note(journal, 'hang', 'exec sleep 100')}, stage: finish, priority: 1, stopwaitsecs: 1}
  b-fails: {command: ${note(journal, 'fails', 'exit 4')}, stage: finish, priority: 2}
`, dir)] });
    try {
      await rm.waitFor(/^web +\| ready$/m);
      // The finished init counts as ready; the finish programs are not autostarted, so not waited for.
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      const ready = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(ready.status, 200, ready.body);
      const status = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body).processes as Array<{ name: string; stage: string; state: string }>;
      assert.deepEqual(status.map((p) => [p.name, p.stage, p.state]).sort(), [['a-hangs', 'finish', 'STOPPED'], ['b-fails', 'finish', 'STOPPED'], ['migrate', 'init', 'EXITED'], ['web', 'main', 'RUNNING']]);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait(20_000)).code, 0);
      assert.deepEqual(lines(journal), ['migrate', 'web-stopped', 'hang', 'fails']);
      assert.match(rm.stderr, /killing a-hangs \(pid \d+\) with SIGKILL: after stopwaitsecs 1s/);
      assert.match(rm.stderr, /finish: b-fails failed with exit code 4 \(the container's exit code is not changed\)/);
      assert.match(rm.stdout, /exiting with code 0/);
    } finally {
      rm.kill();
    }
  });

  it('TERM during init stops it and no main program starts; shutdown_timeout bounds the finish stage and skips what is left', async () => {
    const dir = tempDir('rm-stages-');
    const journal = path.join(dir, 'journal');
    const duringInit = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  migrate: {command: ["sh", "-c", "echo migrating; exec sleep 100"], stage: init}
  web: {command: ${note(journal, 'web', 'sleep 100')}}
  cleanup: {command: ${note(journal, 'cleanup')}, stage: finish}
`, dir)] });
    const dir2 = tempDir('rm-stages-');
    const journal2 = path.join(dir2, 'journal');
    const deadline = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir2, 'rm.sock')}, shutdown_timeout: 1s}
programs:
  web: {command: ["sh", "-c", "echo ready; exec sleep 100"], startsecs: 0}
  a-hangs: {command: ${note(journal2, 'hang', 'exec sleep 100')}, stage: finish, priority: 1, stopwaitsecs: 60}
  b-never: {command: ${note(journal2, 'never')}, stage: finish, priority: 2}
`, dir2)] });
    try {
      await duringInit.waitFor(/^migrate +\| migrating$/m);
      await duringInit.signal('SIGTERM');
      assert.equal((await duringInit.wait(20_000)).code, 0);
      assert.deepEqual(lines(journal), ['cleanup']);
      assert.match(duringInit.stdout, /stopped: migrate \(terminated by SIGTERM; by shutdown\)/);

      await deadline.waitFor(/^web +\| ready$/m);
      const t0 = Date.now();
      await deadline.signal('SIGTERM');
      assert.equal((await deadline.wait(20_000)).code, 0);
      assert.ok(Date.now() - t0 < 10_000, 'the finish stage outlived shutdown_timeout');
      assert.deepEqual(lines(journal2), ['hang']);
      assert.match(deadline.stderr, /killing a-hangs \(pid \d+\) with SIGKILL: at shutdown_timeout 1s/);
      assert.match(deadline.stderr, /finish: b-never not run: the shutdown ended at once/);
    } finally {
      duringInit.kill();
      deadline.kill();
    }
  });

  it('finish programs also run after an exit-policy end (code kept) and after ctl shutdown', async () => {
    const dir = tempDir('rm-stages-');
    const journal = path.join(dir, 'journal');
    const policy = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  job: {command: ${note(journal, 'job', 'sleep 0.2; exit 5')}, critical: true, autorestart: false, startsecs: 0}
  cleanup: {command: ${note(journal, 'cleanup', 'exit 7')}, stage: finish}
`, dir)] });
    const dir2 = tempDir('rm-stages-');
    const journal2 = path.join(dir2, 'journal');
    const socket2 = path.join(dir2, 'rm.sock');
    const byCtl = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${socket2}}
programs:
  web: {command: ["sh", "-c", "echo ready; exec sleep 100"], startsecs: 0}
  cleanup: {command: ${note(journal2, 'cleanup')}, stage: finish}
`, dir2)] });
    try {
      assert.equal((await policy.wait(20_000)).code, 5);
      assert.deepEqual(lines(journal), ['job', 'cleanup']);
      assert.match(policy.stderr, /finish: cleanup failed with exit code 7/);

      await byCtl.waitFor(/^web +\| ready$/m);
      await eventually(() => existsSync(socket2), 10_000, 'the control socket');
      assert.equal((await ctl(socket2, 'shutdown')).code, 0);
      assert.equal((await byCtl.wait(20_000)).code, 0);
      assert.deepEqual(lines(journal2), ['cleanup']);
    } finally {
      policy.kill();
      byCtl.kill();
    }
  });
});
