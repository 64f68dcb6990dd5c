// Unit tests of Supervisor's state machine (SPEC §2 states) with a scripted child: no OS process
// is involved here; the end-to-end tests in supervisor-e2e.test.ts run the real thing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExitStatus } from '../src/exit-status';
import { SupervisedProcess, type ProcessDeps } from '../src/supervisor/process';
import type { ProcessState } from '../src/supervisor/states';
import { backoffDelay } from '../src/supervisor/backoff';
import { expandTemplate } from '../src/config/process-name';
import { program } from './support/program';

// Pids above the kernel's pid_max: any signal sent to them fails with ESRCH.
let nextPid = 5_000_000;

function harness(overrides: Parameters<typeof program>[0], opts: { failSpawn?: string } = {}) {
  const transitions: string[] = [];
  const ended: Array<{ code: number; expected: boolean }> = [];
  const exits: Array<(s: ExitStatus) => void> = [];
  const deps: ProcessDeps = {
    spawn: () => {
      if (opts.failSpawn) throw Object.assign(new Error(`can't find command 'x'`), { code: opts.failSpawn });
      let resolve!: (s: ExitStatus) => void;
      const exited = new Promise<ExitStatus>((r) => (resolve = r));
      exits.push(resolve);
      return { pid: nextPid++, exited };
    },
    log: () => {},
    onTransition: (_p, from: ProcessState, to: ProcessState) => transitions.push(`${from}>${to}`),
    onEnded: (_p, code, expected) => ended.push({ code, expected }),
    mayRestart: () => true,
    random: () => 0.5, // no jitter
  };
  const spec = { program: program(overrides), name: 'p', group: 'p', namespec: 'p', processNum: 0 };
  const p = new SupervisedProcess(spec, deps);
  const exit = (code: number | null, signal: number | null = null) => exits[exits.length - 1]({ code, signal });
  return { p, transitions, ended, exit, spawns: () => exits.length };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('state machine (Supervisor semantics)', () => {
  it('goes STARTING -> RUNNING after startsecs', async () => {
    const h = harness({ startsecsMs: 30 });
    h.p.start();
    assert.equal(h.p.state, 'STARTING');
    await tick(60);
    assert.equal(h.p.state, 'RUNNING');
    assert.deepEqual(h.transitions, ['STOPPED>STARTING', 'STARTING>RUNNING']);
  });

  it('startsecs 0 counts as RUNNING at once', () => {
    const h = harness({ startsecsMs: 0 });
    h.p.start();
    assert.equal(h.p.state, 'RUNNING');
  });

  it('an exit within startsecs is a start failure: BACKOFF, retried, FATAL after 1+startretries starts', async () => {
    const h = harness({ startsecsMs: 1000, startretries: 2, backoff: { initialMs: 10, maxMs: 20, resetMs: 60000 } });
    h.p.start();
    for (let i = 0; i < 3; i++) {
      h.exit(0);
      await tick(40);
    }
    assert.equal(h.spawns(), 3);
    assert.equal(h.p.state, 'FATAL');
    assert.deepEqual(h.transitions.slice(-2), ['STARTING>BACKOFF', 'BACKOFF>FATAL']);
    // exited 0 too quickly counts as 1 (SPEC §5)
    assert.deepEqual(h.ended, [{ code: 1, expected: false }]);
  });

  it('a command that cannot be found goes BACKOFF -> FATAL with 127', async () => {
    const h = harness({ startretries: 1, backoff: { initialMs: 5, maxMs: 5, resetMs: 60000 } }, { failSpawn: 'ENOENT' });
    h.p.start();
    await tick(40);
    assert.equal(h.p.state, 'FATAL');
    assert.equal(h.p.spawns, 2);
    assert.deepEqual(h.ended, [{ code: 127, expected: false }]);
  });

  it('a non-executable command gives 126', async () => {
    const h = harness({ startretries: 0 }, { failSpawn: 'EACCES' });
    h.p.start();
    assert.equal(h.p.state, 'FATAL');
    assert.deepEqual(h.ended, [{ code: 126, expected: false }]);
  });

  it('autorestart unexpected: an expected exit after RUNNING ends for good as EXITED', async () => {
    const h = harness({ startsecsMs: 0, exitcodes: [0, 3] });
    h.p.start();
    h.exit(3);
    await tick(5);
    assert.equal(h.p.state, 'EXITED');
    assert.deepEqual(h.ended, [{ code: 3, expected: true }]);
    assert.equal(h.p.active, false);
  });

  it('autorestart unexpected: an unexpected exit restarts after the backoff delay', async () => {
    const h = harness({ startsecsMs: 0, backoff: { initialMs: 30, maxMs: 1000, resetMs: 60000 } });
    h.p.start();
    h.exit(1);
    await tick(5);
    assert.equal(h.p.state, 'EXITED');
    assert.equal(h.p.active, true, 'a restart is pending');
    assert.equal(h.spawns(), 1, 'not restarted at once');
    await tick(50);
    assert.equal(h.spawns(), 2);
    assert.equal(h.p.state, 'RUNNING');
    assert.deepEqual(h.ended, []);
  });

  it('death by signal is never expected', async () => {
    const h = harness({ startsecsMs: 0, autorestart: false });
    h.p.start();
    h.exit(null, 9);
    await tick(5);
    assert.deepEqual(h.ended, [{ code: 137, expected: false }]);
  });

  it('autorestart false never restarts; true always does', async () => {
    const never = harness({ startsecsMs: 0, autorestart: false });
    never.p.start();
    never.exit(1);
    await tick(5);
    assert.equal(never.p.state, 'EXITED');
    assert.equal(never.p.active, false);
    const always = harness({ startsecsMs: 0, autorestart: true, backoff: { initialMs: 5, maxMs: 5, resetMs: 60000 } });
    always.p.start();
    always.exit(0);
    await tick(30);
    assert.equal(always.spawns(), 2);
  });

  it('stop in BACKOFF goes to STOPPED and cancels the retry', async () => {
    const h = harness({ startsecsMs: 1000, backoff: { initialMs: 20, maxMs: 20, resetMs: 60000 } });
    h.p.start();
    h.exit(1);
    await tick(1);
    assert.equal(h.p.state, 'BACKOFF');
    await h.p.stop();
    assert.equal(h.p.state, 'STOPPED');
    await tick(40);
    assert.equal(h.spawns(), 1);
  });

  it('stop of a RUNNING process goes STOPPING -> STOPPED when it exits', async () => {
    const h = harness({ startsecsMs: 0 });
    h.p.start();
    const stopped = h.p.stop();
    assert.equal(h.p.state, 'STOPPING');
    h.exit(null, 15);
    await stopped;
    assert.equal(h.p.state, 'STOPPED');
    assert.deepEqual(h.ended, [], 'an asked-for stop is not an end for the exit policy');
  });
});

describe('backoff delay', () => {
  const policy = { initialMs: 1000, maxMs: 30000, resetMs: 60000 };
  it('doubles per consecutive failure up to max', () => {
    const d = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(policy, n, () => 0.5));
    assert.deepEqual(d, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
  it('jitters by at most 20%', () => {
    assert.equal(backoffDelay(policy, 1, () => 0), 800);
    assert.equal(backoffDelay(policy, 1, () => 0.9999999), 1200);
  });
});

describe('process_name templates', () => {
  it('expands Supervisor %-formats', () => {
    assert.equal(expandTemplate('%(program_name)s_%(process_num)02d', { program_name: 'w', process_num: 5 }), 'w_05');
    assert.equal(expandTemplate('%(program_name)s-%(process_num)d%%', { program_name: 'w', process_num: 12 }), 'w-12%');
    assert.equal(expandTemplate('%(process_num)3d|', { process_num: 7 }), '  7|');
  });
});
