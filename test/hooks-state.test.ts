// The hooks in the state machine (SPEC §10), with a scripted child and scripted hooks: when each
// is asked for, and the edges the end-to-end tests cannot time reliably (a stop while pre_start
// runs, a pre_start that ends after it was overtaken, a kill aborting the hooks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HookName } from '../src/config/types';
import { SupervisedProcess, type ProcessDeps } from '../src/supervisor/process';
import { program, scriptedChildren } from './support/program';

const every = { pre_start: { argv: ['x'], text: 'x' }, post_start: { argv: ['x'], text: 'x' }, pre_stop: { argv: ['x'], text: 'x' }, post_stop: { argv: ['x'], text: 'x' } };

function harness() {
  const calls: Array<{ hook: HookName; timeoutMs: number; signal: AbortSignal; finish: (code: number) => void }> = [];
  const { spawn, exits } = scriptedChildren();
  const states: string[] = [];
  const deps: ProcessDeps = {
    spawn,
    runHook: (_spec, hook, timeoutMs, signal) => new Promise((finish) => calls.push({ hook, timeoutMs, signal, finish })),
    log: () => {},
    onTransition: (_p, _from, to) => states.push(to),
    onEnded: () => {},
    mayRestart: () => true,
    random: () => 0.5,
  };
  const spec = { program: program({ startsecsMs: 0, stopwaitsecsMs: 5000, hookTimeoutMs: 30_000, hooks: every, backoff: { initialMs: 10, maxMs: 10, resetMs: 60_000 } }), name: 'p', group: 'p', namespec: 'p', processNum: 0 };
  const p = new SupervisedProcess(spec, deps);
  const last = () => calls[calls.length - 1];
  return { p, calls, last, states, exits, spawns: () => exits.length };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('hooks in the state machine', () => {
  it('pre_start before the spawn, post_start on RUNNING, pre_stop before the stop signal within stopwaitsecs, post_stop before the stop resolves', async () => {
    const h = harness();
    h.p.start();
    assert.equal(h.p.state, 'STARTING');
    assert.equal(h.last().hook, 'pre_start');
    assert.equal(h.spawns(), 0, 'spawned before pre_start ended');
    h.last().finish(0);
    await settle();
    assert.equal(h.p.state, 'RUNNING');
    assert.equal(h.last().hook, 'post_start');
    let stopped = false;
    const stop = h.p.stop().then(() => (stopped = true));
    assert.equal(h.p.state, 'STOPPING');
    assert.equal(h.last().hook, 'pre_stop');
    assert.equal(h.last().timeoutMs, 5000, 'pre_stop is bounded by stopwaitsecs when it is below hook_timeout');
    h.last().finish(1); // a failed pre_stop: the stop goes on
    await settle();
    h.exits[0]({ code: 0, signal: null });
    await settle();
    assert.equal(h.p.state, 'STOPPED');
    assert.equal(h.last().hook, 'post_stop');
    assert.equal(stopped, false, 'the stop resolved before post_stop ended');
    h.last().finish(0);
    await stop;
  });

  it('a stop while pre_start runs aborts it, never spawns, and a late pre_start result is ignored', async () => {
    const h = harness();
    h.p.start();
    const pre = h.last();
    await h.p.stop();
    assert.equal(pre.signal.aborted, true);
    assert.equal(h.p.state, 'STOPPED');
    pre.finish(0);
    await settle();
    assert.equal(h.spawns(), 0);
    assert.equal(h.p.state, 'STOPPED');
  });

  it('a failed pre_start is a failed start: BACKOFF, retried, FATAL with the hook\'s code', async () => {
    const h = harness();
    h.p.spec.program.startretries = 1;
    h.p.start();
    h.last().finish(3);
    await settle();
    assert.equal(h.p.state, 'BACKOFF');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.last().hook, 'pre_start');
    assert.equal(h.calls.length, 2);
    h.last().finish(3);
    await settle();
    assert.equal(h.p.state, 'FATAL');
    assert.equal(h.p.exitCode(), 3);
    assert.equal(h.p.description, 'pre_start hook failed (exit code 3)');
    assert.equal(h.spawns(), 0);
  });

  it('a kill aborts the hooks that run', async () => {
    const h = harness();
    h.p.start();
    h.last().finish(0);
    await settle();
    const post = h.last();
    h.p.kill('second signal');
    assert.equal(post.signal.aborted, true);
    h.exits[0]({ code: null, signal: 9 });
  });
});
