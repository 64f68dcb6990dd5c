// supervisor/ready-wait.ts on its own: what ready_timeout and watchdog do with the notices of one
// run, on node's mocked timers (the end-to-end behaviour is in ready-e2e.test.ts).
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { ReadyWait } from '../src/supervisor/ready-wait';
import type { ReadyNotice, ReadySource } from '../src/types';

function harness(config: ConstructorParameters<typeof ReadyWait>[0]) {
  let send: (n: ReadyNotice) => void = () => {};
  let closed = false;
  const source: ReadySource = { listen: (cb) => (send = cb), close: () => (closed = true) };
  const seen: string[] = [];
  const wait = new ReadyWait(config, source, {
    ready: (how) => seen.push(`ready ${how}`),
    status: (t) => seen.push(`status ${t}`),
    mainPid: (pid) => seen.push(`mainpid ${pid}`),
    timedOut: (limit) => seen.push(`timeout ${limit}`),
    watchdogMissed: (limit) => seen.push(`watchdog ${limit}`),
  });
  return { send: (n: ReadyNotice) => send(n), seen, wait, closed: () => closed };
}

describe('ReadyWait: ready_timeout and watchdog of one run', () => {
  it('ready_timeout fires once when no READY=1 came, and not after one did', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const late = harness({ method: { kind: 'notify' }, timeoutMs: 1000 });
      mock.timers.tick(999);
      assert.deepEqual(late.seen, []);
      mock.timers.tick(1);
      assert.deepEqual(late.seen, ['timeout 1s']);
      late.wait.close();

      const inTime = harness({ method: { kind: 'fd', fd: 3 }, timeoutMs: 1000 });
      inTime.send({ kind: 'status', text: 'loading' });
      inTime.send({ kind: 'ready' });
      inTime.send({ kind: 'ready' });
      mock.timers.tick(5000);
      assert.deepEqual(inTime.seen, ['status loading', 'ready a newline on its notification fd']);
      inTime.wait.close();
      assert.ok(inTime.closed(), 'the source is closed with the run');
    } finally {
      mock.timers.reset();
    }
  });

  it('watchdog: armed at READY=1, each WATCHDOG=1 re-arms it, STOPPING=1 disarms it; nothing after close', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const h = harness({ method: { kind: 'notify' }, watchdogMs: 500 });
      h.send({ kind: 'watchdog' }); // before ready: no effect
      mock.timers.tick(2000);
      assert.deepEqual(h.seen, []);
      h.send({ kind: 'ready' });
      for (let i = 0; i < 5; i++) {
        mock.timers.tick(400);
        h.send({ kind: 'watchdog' });
      }
      assert.deepEqual(h.seen, ['ready READY=1']);
      mock.timers.tick(500);
      assert.deepEqual(h.seen, ['ready READY=1', 'watchdog 0.5s']);

      const s = harness({ method: { kind: 'notify' }, watchdogMs: 500 });
      s.send({ kind: 'ready' });
      s.send({ kind: 'stopping' });
      mock.timers.tick(5000);
      assert.deepEqual(s.seen, ['ready READY=1']);

      const c = harness({ method: { kind: 'notify' }, watchdogMs: 500, timeoutMs: 100 });
      c.wait.close();
      c.send({ kind: 'ready' });
      mock.timers.tick(5000);
      assert.deepEqual(c.seen, []);
    } finally {
      mock.timers.reset();
    }
  });

  it('says what it waits for', () => {
    assert.equal(ReadyWait.waitingFor({ method: { kind: 'notify' } }), 'waiting for READY=1');
    assert.equal(ReadyWait.waitingFor({ method: { kind: 'fd', fd: 4 } }), 'waiting for a newline on fd 4');
    assert.equal(ReadyWait.waitingFor({ method: { kind: 'file', path: '/run/x' } }), 'waiting for /run/x');
  });
});
