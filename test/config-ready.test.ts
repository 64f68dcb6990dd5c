// SPEC §10 `ready:`, `ready_timeout`, `watchdog` and settings.notify_dir: the forms they take and
// every problem reported at its FILE:LINE:COL (nothing starts), plus sd_notify's message format.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import type { Config } from '../src/config/types';
import { parseNotify } from '../src/ready/notify-message';
import { dir, problems, write } from './support/config-files';
import { BUNDLE } from './support/ringmaster';

function config(lines: string[]) {
  const d = dir('rm-config-ready-');
  const file = write(d, 'ringmaster.yaml', lines.join('\n') + '\n');
  return { file, load: (): Config => loadConfig({ file, env: {}, cwd: d }) };
}

describe('§10 ready: config', () => {
  it('reads notify, fd:N and file:PATH with ready_timeout and watchdog durations', () => {
    const c = config([
      'settings: {notify_dir: /run/ringmaster-notify}',
      'programs:',
      '  a: {command: x, ready: notify, ready_timeout: 30s, watchdog: 1m}',
      '  b: {command: x, ready: "fd:3"}',
      '  c: {command: x, ready: "file:/run/c//ready"}',
      '  d: {command: x}',
    ]).load();
    const ready = (n: string) => c.programs.find((p) => p.name === n)!.ready;
    assert.deepEqual(ready('a'), { method: { kind: 'notify' }, timeoutMs: 30_000, watchdogMs: 60_000 });
    assert.deepEqual(ready('b'), { method: { kind: 'fd', fd: 3 } });
    assert.deepEqual(ready('c'), { method: { kind: 'file', path: '/run/c/ready' } });
    assert.equal(ready('d'), undefined);
    assert.equal(c.settings.notifyDir, '/run/ringmaster-notify');
  });

  it('every bad value is a problem at its place; `check` exits 2', () => {
    const { file, load } = config([
      'settings: {notify_dir: relative/dir}',
      'programs:',
      '  a: {command: x, ready: systemd}',
      '  b: {command: x, ready: "fd:2"}',
      '  c: {command: x, ready: "file:relative"}',
      '  d: {command: x, ready_timeout: 5s}',
      '  e: {command: x, ready: "fd:4", watchdog: 10s}',
      '  f: {command: x, ready: notify, ready_timeout: 0}',
      '  g: {command: x, redy: notify}',
    ]);
    assert.deepEqual(problems(load), [
      `${file}:1:24: settings.notify_dir: expected an absolute directory, got "relative/dir"`,
      `${file}:3:26: programs.a.ready: expected notify, fd:N or file:PATH, got "systemd"`,
      `${file}:4:26: programs.b.ready: expected fd:N with N from 3 to 1023 (0-2 are the program's stdio), got "fd:2"`,
      `${file}:5:26: programs.c.ready: expected file:PATH with an absolute path, got "file:relative"`,
      `${file}:6:34: programs.d.ready_timeout: needs a ready: method (notify, fd:N or file:PATH) to wait for`,
      `${file}:7:44: programs.e.watchdog: needs ready: notify (the pings are sd_notify WATCHDOG=1 messages), not ready: fd:4`,
      `${file}:8:49: programs.f.ready_timeout: must be more than 0 (leave it out to wait without a bound)`,
      `${file}:9:19: programs.g.redy: unknown key "redy", did you mean "ready"?`,
    ]);
    const r = spawnSync(process.execPath, [BUNDLE, 'check', '-c', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /programs\.a\.ready: expected notify, fd:N or file:PATH, got "systemd"/);
  });
});

describe('sd_notify messages', () => {
  it('reads READY, STATUS, WATCHDOG, MAINPID and STOPPING, in order, and ignores the rest', () => {
    assert.deepEqual(parseNotify('READY=1\nSTATUS=up: 3 workers\nWATCHDOG=1\nMAINPID=4242\nSTOPPING=1\nBARRIER=1\nERRNO=2\nREADY=0\nMAINPID=x\n=1\nnoequals'), [
      { kind: 'ready' },
      { kind: 'status', text: 'up: 3 workers' },
      { kind: 'watchdog' },
      { kind: 'mainpid', pid: 4242 },
      { kind: 'stopping' },
    ]);
    assert.deepEqual(parseNotify('STATUS='), [{ kind: 'status', text: '' }]);
    assert.equal((parseNotify(`STATUS=${'x'.repeat(5000)}`)[0] as { text: string }).text.length, 512);
  });
});
