// Issue #11: Supervisor's states move only through one transition table. Each allowed edge is
// taken by a real SupervisedProcess over a scripted child (no OS process), and the table refuses
// the moves Supervisor never makes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SupervisorError } from '../src/errors';
import { SupervisedProcess, type ProcessDeps } from '../src/supervisor/process';
import { TRANSITIONS, assertMove, canMove, type ProcessState } from '../src/supervisor/states';
import { program, scriptedChildren } from './support/program';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function harness(overrides: Parameters<typeof program>[0]) {
  const moves: string[] = [];
  const { spawn, exits } = scriptedChildren();
  const deps: ProcessDeps = {
    spawn,
    log: () => {},
    onTransition: (_p, from, to) => moves.push(`${from}>${to}`),
    onEnded: () => {},
    mayRestart: () => true,
    random: () => 0.5,
  };
  const p = new SupervisedProcess({ program: program(overrides), name: 'p', group: 'p', namespec: 'p', processNum: 0 }, deps);
  const exit = (code: number | null, signal: number | null = null) => exits[exits.length - 1]({ code, signal });
  return { p, moves, exit };
}

const slow = { backoff: { initialMs: 60_000, maxMs: 60_000, resetMs: 60_000 } };

/** One scenario per allowed edge: it drives a process until that move happened. */
const EDGES: Record<string, () => Promise<string[]>> = {
  'STOPPED>STARTING': async () => {
    const h = harness({ startsecsMs: 1000 });
    h.p.start();
    return h.moves;
  },
  'STARTING>RUNNING': async () => {
    const h = harness({ startsecsMs: 0 });
    h.p.start();
    return h.moves;
  },
  'STARTING>BACKOFF': async () => {
    const h = harness({ startsecsMs: 1000, ...slow });
    h.p.start();
    h.exit(1);
    await tick(1);
    void h.p.stop();
    return h.moves;
  },
  'STARTING>STOPPING': async () => {
    const h = harness({ startsecsMs: 1000 });
    h.p.start();
    void h.p.stop();
    h.exit(null, 15);
    return h.moves;
  },
  'RUNNING>STOPPING': async () => {
    const h = harness({ startsecsMs: 0 });
    h.p.start();
    const stopped = h.p.stop();
    h.exit(null, 15);
    await stopped;
    return h.moves;
  },
  'RUNNING>EXITED': async () => {
    const h = harness({ startsecsMs: 0, autorestart: false });
    h.p.start();
    h.exit(0);
    await tick(1);
    return h.moves;
  },
  'BACKOFF>STARTING': async () => {
    const h = harness({ startsecsMs: 1000, ...slow });
    h.p.start();
    h.exit(1);
    await tick(1);
    h.p.start(); // by request: at once, not after the 60 s delay
    return h.moves;
  },
  'BACKOFF>FATAL': async () => {
    const h = harness({ startsecsMs: 1000, startretries: 0 });
    h.p.start();
    h.exit(1);
    await tick(1);
    return h.moves;
  },
  'BACKOFF>STOPPED': async () => {
    const h = harness({ startsecsMs: 1000, ...slow });
    h.p.start();
    h.exit(1);
    await tick(1);
    await h.p.stop();
    return h.moves;
  },
  // The stop of a RUNNING process ends in STOPPED once its child is reaped.
  'STOPPING>STOPPED': () => EDGES['RUNNING>STOPPING'](),
  'EXITED>STARTING': async () => {
    const h = harness({ startsecsMs: 0, autorestart: false });
    h.p.start();
    h.exit(0);
    await tick(1);
    h.p.start();
    return h.moves;
  },
  'EXITED>STOPPED': async () => {
    const h = harness({ startsecsMs: 0, autorestart: true, ...slow });
    h.p.start();
    h.exit(1);
    await tick(1);
    assert.equal(h.p.sub.kind, 'restart', 'a restart is pending');
    await h.p.stop();
    return h.moves;
  },
  'FATAL>STARTING': async () => {
    const h = harness({ startsecsMs: 1000, startretries: 0 });
    h.p.start();
    h.exit(1);
    await tick(1);
    h.p.start();
    return h.moves;
  },
};

describe('the state transition table (issue #11)', () => {
  const allowed = (Object.entries(TRANSITIONS) as Array<[ProcessState, readonly ProcessState[]]>).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`));

  it('has a scenario for every allowed edge, and no scenario for an edge it lacks', () => {
    assert.deepEqual(Object.keys(EDGES).sort(), [...allowed].sort());
  });

  for (const edge of allowed) {
    it(`${edge.replace('>', ' -> ')} is taken by a real process`, async () => {
      const moves = await EDGES[edge]();
      assert.ok(moves.includes(edge), `expected ${edge} among ${moves.join(', ')}`);
    });
  }

  const forbidden: Array<[ProcessState, ProcessState]> = [
    ['STOPPED', 'RUNNING'],
    ['STOPPED', 'STOPPING'],
    ['RUNNING', 'STARTING'],
    ['RUNNING', 'STOPPED'],
    ['STOPPING', 'RUNNING'],
    ['STOPPING', 'STARTING'],
    ['EXITED', 'RUNNING'],
    ['FATAL', 'RUNNING'],
    ['FATAL', 'STOPPED'],
    ['BACKOFF', 'RUNNING'],
    ['UNKNOWN', 'STARTING'],
  ];
  for (const [from, to] of forbidden) {
    it(`${from} -> ${to} is refused`, () => {
      assert.equal(canMove(from, to), false);
      assert.throws(() => assertMove('p', from, to), (err: unknown) => err instanceof SupervisorError && err.code === 'ILLEGAL_TRANSITION' && /p: .* is not a move/.test(err.message));
    });
  }

  it('pending timers are sub-states, not flags: a restart pending until T, a wait for depends_on', async () => {
    const h = harness({ startsecsMs: 0, autorestart: true, ...slow });
    h.p.start();
    h.exit(1);
    await tick(1);
    assert.equal(h.p.state, 'EXITED');
    assert.equal(h.p.sub.kind, 'restart');
    assert.ok(h.p.sub.kind === 'restart' && h.p.sub.at > Date.now() + 50_000);
    await h.p.stop();
    assert.deepEqual([h.p.state, h.p.sub.kind, h.p.active], ['STOPPED', 'none', false]);
    h.p.waitForDependencies('waiting for db');
    assert.deepEqual(h.p.sub, { kind: 'waiting', reason: 'waiting for db' });
    assert.equal(h.p.stopWaiting(), true);
    assert.equal(h.p.sub.kind, 'none');
  });
});
