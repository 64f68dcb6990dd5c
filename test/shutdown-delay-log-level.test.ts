// SPEC §10 settings.shutdown_delay and SPEC §3 log_level, end to end with ringmaster as PID 1:
// a TERM fails /readyz at once while the programs keep running for the delay; a second TERM or
// `ctl shutdown` cuts it short. ringmaster's own lines are filtered by level and split by stream.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { NO_UNSHARE, Ringmaster, canUnshare, eventually, tempDir, writeConfig } from './support/ringmaster';

const TRAPPER = `["sh", "-c", "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done"]`;

async function started(delay: string, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir('rm-delay-');
  const socket = path.join(dir, 'rm.sock');
  const rm = new Ringmaster({ pid1: true, env, args: ['-c', writeConfig(`
settings: {socket: ${socket}, shutdown_delay: ${delay}}
programs:
  web: {command: ${TRAPPER}, startsecs: 0}
`, dir)] });
  await rm.waitFor(/^web +\| ready$/m);
  await eventually(() => existsSync(socket), 10_000, 'the control socket');
  assert.equal((await httpUnix(socket, 'GET', '/readyz')).status, 200);
  return { rm, socket };
}

describe('shutdown_delay (SPEC §10)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  it('TERM: /readyz answers 503 at once, the programs keep running for the delay, then the ordered stop', async () => {
    const { rm, socket } = await started('1500ms');
    try {
      const t0 = Date.now();
      await rm.signal('SIGTERM');
      await rm.waitFor(/shutdown_delay 1\.5s, the programs keep running until then/);
      const ready = await httpUnix(socket, 'GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body, /ringmaster is shutting down/);
      assert.doesNotMatch(rm.stdout, /got-term/);
      await rm.waitFor(/^web +\| got-term$/m);
      const took = Date.now() - t0;
      assert.ok(took >= 1400, `the program was stopped ${took} ms after TERM, before shutdown_delay`);
      assert.equal((await rm.wait(15_000)).code, 0);
    } finally {
      rm.kill();
    }
  });

  it('a second TERM, or ctl shutdown, skips the rest of the delay', async () => {
    const [bySignal, byCtl] = await Promise.all([started('60s'), started('60s', { RINGMASTER_SHUTDOWN_DELAY: '60s' })]);
    try {
      await Promise.all([bySignal.rm.signal('SIGTERM'), byCtl.rm.signal('SIGTERM')]);
      await Promise.all([bySignal.rm.waitFor(/shutdown_delay 60s/), byCtl.rm.waitFor(/shutdown_delay 60s/)]);
      const t0 = Date.now();
      await bySignal.rm.signal('SIGTERM');
      assert.equal((await ctl(byCtl.socket, 'shutdown')).code, 0);
      const [a, b] = await Promise.all([bySignal.rm.wait(15_000), byCtl.rm.wait(15_000)]);
      assert.deepEqual([a.code, b.code], [0, 0]);
      assert.ok(Date.now() - t0 < 12_000);
      assert.match(bySignal.rm.stdout, /received SIGTERM, shutting down: the rest of shutdown_delay is skipped/);
      assert.match(byCtl.rm.stdout, /shutdown asked for by ctl: the rest of shutdown_delay is skipped/);
      // Stopped in order, not killed: the second TERM skipped the delay, not the stop.
      assert.match(bySignal.rm.stdout, /^web +\| got-term$/m);
    } finally {
      bySignal.rm.kill();
      byCtl.rm.kill();
    }
  });
});

describe('log_level (SPEC §3)', { skip: canUnshare() ? false : NO_UNSHARE }, () => {
  const programs = `
programs:
  forker: {command: ["sh", "-c", "(sleep 0.2 &); echo hi; exec sleep 100"], startsecs: 0}
  bad: {command: /no/such/bad, startretries: 1, backoff: {initial: 1s}, critical: true}`;

  it('debug in JSON: orphan reaping shows as debug; info and debug on stdout, warnings and errors on stderr, each with its level', async () => {
    const dir = tempDir('rm-level-');
    const rm = new Ringmaster({ pid1: true, args: ['-c', writeConfig(`settings: {socket: ${path.join(dir, 'rm.sock')}, log_format: json, log_level: debug}${programs.replace('critical: true', 'critical: false')}
  ender: {command: ["sh", "-c", "sleep 3"], startsecs: 0, autorestart: false, critical: true}
`, dir)] });
    try {
      assert.equal((await rm.wait(20_000)).code, 0);
      const parse = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as { program: string; level?: string; line: string });
      const out = parse(rm.stdout).filter((o) => o.program === 'ringmaster');
      const err = parse(rm.stderr).filter((o) => o.program === 'ringmaster');
      assert.ok(out.some((o) => o.level === 'debug' && /^reaped unknown pid \d+/.test(o.line)), rm.stdout);
      assert.ok(out.every((o) => o.level === 'info' || o.level === 'debug'), rm.stdout);
      assert.ok(err.some((o) => o.level === 'error' && /gave up: bad entered FATAL/.test(o.line)), rm.stderr);
      assert.ok(err.some((o) => o.level === 'warn' && /spawnerr: bad: /.test(o.line)), rm.stderr);
      assert.ok(err.every((o) => o.level === 'warn' || o.level === 'error'), rm.stderr);
      // A program's lines carry no level and are never filtered.
      assert.ok(parse(rm.stdout).some((o) => o.program === 'forker' && o.line === 'hi' && o.level === undefined));
    } finally {
      rm.kill();
    }
  });

  it('RINGMASTER_LOG_LEVEL=warn: no information line of ringmaster\'s, the programs\' output and the errors still there', async () => {
    const dir = tempDir('rm-level-');
    const rm = new Ringmaster({ pid1: true, env: { RINGMASTER_LOG_LEVEL: 'warn' }, args: ['-c', writeConfig(`settings: {socket: ${path.join(dir, 'rm.sock')}}${programs}\n`, dir)] });
    try {
      assert.equal((await rm.wait(20_000)).code, 127);
      assert.match(rm.stdout, /^forker +\| hi$/m);
      assert.doesNotMatch(rm.stdout, /^ringmaster /m);
      assert.match(rm.stderr, /^ringmaster \| gave up: bad entered FATAL state/m);
      assert.doesNotMatch(rm.stdout + rm.stderr, /reaped unknown pid|spawned:|exiting with code/);
    } finally {
      rm.kill();
    }
  });
});
