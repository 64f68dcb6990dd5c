// Issue #11 (SPEC §6): every stop and every SIGKILL records why, and says it in ringmaster's line,
// the status (JSON, ctl, XML-RPC), the events stream and the exit summary. Real processes that
// ignore SIGTERM, real signals, ringmaster as PID 1.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { NO_UNSHARE, Ringmaster, alive, canUnshare, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';
import { value } from './support/xmlrpc';

// It says `ready` once its trap is set (a TERM before that would kill it on a busy machine).
const IGNORE_TERM = `["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]`;

/** GET /v1/events: every JSON line, as it comes. */
function events(socket: string): { lines: Array<Record<string, unknown>>; close(): void; ready: Promise<void> } {
  const lines: Array<Record<string, unknown>> = [];
  let rest = '';
  const req = request({ socketPath: socket, path: '/v1/events' });
  const ready = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      res.setEncoding('utf8').on('data', (d: string) => {
        const parts = (rest + d).split('\n');
        rest = parts.pop()!;
        for (const p of parts) lines.push(JSON.parse(p));
      });
      resolve();
    });
    req.on('error', reject);
  });
  req.end();
  return { lines, ready, close: () => req.destroy() };
}

async function waitLine(lines: Array<Record<string, unknown>>, pred: (l: Record<string, unknown>) => boolean, what: string) {
  const until = Date.now() + 15_000;
  for (;;) {
    const l = lines.find(pred);
    if (l) return l;
    if (Date.now() > until) assert.fail(`no event line for ${what}: ${JSON.stringify(lines.slice(-5))}`);
    await sleep(50);
  }
}

describe('kill reasons (issue #11)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  it('stopwaitsecs: the line, JSON, ctl, XML-RPC, the events stream and the summary say why SIGKILL came', async () => {
    const dir = tempDir('rm-kill-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  stubborn: {command: ${IGNORE_TERM}, startsecs: 0, stopwaitsecs: 1}
`, dir)] });
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      await rm.waitFor(/^stubborn +\| ready$/m);
      const stream = events(socket);
      await stream.ready;
      assert.deepEqual(await ctl(socket, 'stop', 'stubborn'), { code: 0, out: 'stubborn: stopped\n' });
      await rm.waitFor(/killing stubborn \(pid \d+\) with SIGKILL: after stopwaitsecs 1s/);
      await rm.waitFor(/stopped: stubborn \(terminated by SIGKILL; after stopwaitsecs 1s, by request\)/);

      const status = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body).processes[0];
      assert.equal(status.state, 'STOPPED');
      assert.equal(status.stopped.cause, 'stop');
      assert.equal(status.stopped.killed, 'stopwaitsecs');
      assert.equal(status.stopped.text, 'killed by SIGKILL after stopwaitsecs 1s, stopped by request');
      assert.match((await ctl(socket, 'status', 'stubborn')).out, /^stubborn +STOPPED +.* \(killed by SIGKILL after stopwaitsecs 1s, stopped by request\)$/m);
      const info = value(socket, 'supervisor.getProcessInfo', 'stubborn') as { description: string };
      assert.match(info.description, /\(killed by SIGKILL after stopwaitsecs 1s, stopped by request\)$/);
      const line = await waitLine(stream.lines, (l) => l.eventname === 'PROCESS_STATE_STOPPED', 'STOPPED');
      assert.equal(line.reason, 'killed by SIGKILL after stopwaitsecs 1s, stopped by request');
      stream.close();

      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
      assert.match(rm.stdout, /stubborn: STOPPED, exit code 137 \(killed by SIGKILL after stopwaitsecs 1s\), stopped by request, 0 restarts/);
    } finally {
      rm.kill();
    }
  });

  it('shutdown_timeout and a second signal: the summary says which', async () => {
    for (const [how, want] of [
      ['deadline', /stubborn: STOPPED, exit code 137 \(killed by SIGKILL at shutdown_timeout 1s\), stopped by shutdown/],
      ['second signal', /stubborn: STOPPED, exit code 137 \(killed by SIGKILL after a second signal\), stopped by shutdown/],
    ] as const) {
      const dir = tempDir('rm-kill-');
      const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}, shutdown_timeout: ${how === 'deadline' ? '1s' : '30s'}}
programs:
  stubborn: {command: ${IGNORE_TERM}, startsecs: 0, stopwaitsecs: 60}
`, dir)] });
      try {
        await rm.waitFor(/^stubborn +\| ready$/m);
        await rm.signal('SIGTERM');
        await rm.waitFor(/stopping stubborn/);
        if (how === 'second signal') await rm.signal('SIGINT');
        assert.equal((await rm.wait(20_000)).code, 0);
        // A kill forced by the deadline is a warning (stderr); one asked for by a second signal is information.
        if (how === 'deadline') assert.match(rm.stderr, /killing stubborn \(pid \d+\) with SIGKILL: at shutdown_timeout 1s/);
        else assert.match(rm.stdout, /killing stubborn \(pid \d+\) with SIGKILL: after a second signal/);
        assert.match(rm.stdout, want);
      } finally {
        rm.kill();
      }
    }
  });

  it('liveness: the stop that restarts the program says it was the failed check', async () => {
    const dir = tempDir('rm-kill-');
    const socket = path.join(dir, 'rm.sock');
    const flag = path.join(dir, 'alive');
    writeFileSync(flag, '');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  live: {command: sleep 1000, startsecs: 0, healthcheck: {exec: "test -e ${flag}", interval: 100ms, retries: 1, liveness: true}}
`, dir)] });
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      await rm.waitFor(/live is healthy/);
      const stream = events(socket);
      await stream.ready;
      rmSync(flag);
      await rm.waitFor(/stopped: live \(terminated by SIGTERM; by failed liveness check\)/);
      const line = await waitLine(stream.lines, (l) => l.eventname === 'PROCESS_STATE_STOPPED' && l.name === 'live', 'STOPPED');
      assert.equal(line.reason, 'stopped with SIGTERM by failed liveness check');
      stream.close();
    } finally {
      rm.kill();
    }
  });
});

describe('the failsafe kill (issue #11, SPEC §4)', () => {
  it('ringmaster dying of a fatal signal TERMs its programs, SIGKILLs what stays, and says why', async () => {
    const dir = tempDir('rm-failsafe-');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${path.join(dir, 'rm.sock')}}
programs:
  stubborn: {command: ${IGNORE_TERM}, startsecs: 0, stopwaitsecs: 60}
`, dir)] });
    try {
      const [, pid] = await rm.waitFor(/stubborn entered RUNNING \(pid (\d+)\)/);
      await rm.waitFor(/^stubborn +\| ready$/m);
      // Not PID 1 and no listener of ours on SIGALRM: a fatal signal, which the failsafe sees.
      await rm.signal('SIGALRM');
      const exit = await rm.wait();
      assert.equal(exit.signal, 'SIGALRM');
      assert.match(rm.stderr, new RegExp(`killing process group ${pid} with SIGKILL: by the failsafe`));
      await eventually(() => !alive(Number(pid)), 5000, 'the program gone with ringmaster');
    } finally {
      rm.kill();
    }
  });
});

describe('GET /v1/events opens with a snapshot of every process (issue #11)', () => {
  it('one line per process with its current state, then the live events, nothing lost between', async () => {
    const dir = tempDir('rm-snap-');
    const socket = path.join(dir, 'rm.sock');
    const rm = new Ringmaster({ args: ['-c', writeConfig(`
settings: {socket: ${socket}}
programs:
  a: {command: sleep 1000, startsecs: 0}
  b: {command: sleep 1000, autostart: false}
  c: {command: ["sh", "-c", "exit 4"], startsecs: 0, autorestart: false}
`, dir)] });
    try {
      await eventually(() => existsSync(socket), 10_000, 'the control socket');
      await rm.waitFor(/exited: c/);
      const stream = events(socket);
      await stream.ready;
      await eventually(() => stream.lines.length >= 3, 5000, 'the snapshot lines');
      const snap = stream.lines.slice(0, 3);
      assert.ok(snap.every((l) => l.snapshot === true));
      assert.deepEqual(snap.map((l) => [l.name, l.state]), [['a', 'RUNNING'], ['b', 'STOPPED'], ['c', 'EXITED']]);
      assert.ok((snap[0].pid as number) > 0);
      assert.equal(snap[2].exitstatus, 4);
      assert.deepEqual(await ctl(socket, 'start', 'b'), { code: 0, out: 'b: started\n' });
      const running = await waitLine(stream.lines, (l) => l.eventname === 'PROCESS_STATE_RUNNING' && l.name === 'b', 'b RUNNING');
      assert.equal(running.from, 'STARTING');
      stream.close();
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait();
    }
  });
});
