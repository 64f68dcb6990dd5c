// Issue #12 (hardening), the items found by reading: the listener protocol's buffers and a
// catastrophic `log` healthcheck regex on PID 1's event loop. The built bundle, real programs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BUNDLE, Ringmaster, tempDir, writeConfig } from './support/ringmaster';
import { httpUnix } from './support/http';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe('event listener protocol buffers are bounded', () => {
  for (const [what, answer] of [
    ['a RESULT line that never ends', "printf 'RESULT '; exec yes 1 | tr -d '\\\\n'"],
    ['RESULT 99999999999 and then a flood', "printf 'RESULT 99999999999\\\\n'; exec yes"],
  ] as const) {
    it(`${what}: the listener goes UNKNOWN, ringmaster's memory stays flat`, async () => {
      const d = tempDir();
      // READY, read one event's header, then answer with the flood.
      const listener = `printf 'READY\\\\n'; read header; ${answer}`;
      const file = writeConfig([
        `settings: {socket: ${path.join(d, 'rm.sock')}}`,
        'programs:',
        '  tick: {command: ["sh", "-c", "sleep 0.3; exit 1"], startsecs: 0, autorestart: false}',
        'eventlisteners:',
        `  flood: {command: ["sh", "-c", "${listener.replace(/"/g, '\\"')}"], events: [PROCESS_STATE], startsecs: 0}`,
        '',
      ].join('\n'), d);
      const rm = new Ringmaster({ args: ['-c', file] });
      try {
        await rm.waitFor(/flood.*has entered the UNKNOWN state/, 30_000);
        const pid = await rm.ringmasterPid();
        assert.ok(rssMb(pid) < 200, `RSS ${rssMb(pid).toFixed(0)} MB`);
        assert.equal((await httpUnix(path.join(d, 'rm.sock'), 'GET', '/healthz')).status, 200);
      } finally {
        await rm.signal('SIGTERM').catch(() => {});
        await rm.wait(20_000);
      }
    });
  }
});

describe('a log healthcheck regex cannot block PID 1\'s event loop', () => {
  it('(a+)+$ against lines of 40 "a"s and a "!": ringmaster keeps answering', async () => {
    const d = tempDir();
    const sock = path.join(d, 'rm.sock');
    const file = writeConfig([
      `settings: {socket: ${sock}}`,
      'programs:',
      `  evil: {command: ["sh", "-c", "while :; do echo ${'a'.repeat(40)}!; sleep 0.2; done"], healthcheck: {log: "(a+)+$", start_period: 60s}}`,
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/evil\s+\| a+!/);
      for (let i = 0; i < 3; i++) {
        const r = await httpUnix(sock, 'GET', '/healthz', undefined, 5000);
        assert.equal(r.status, 200);
      }
    } finally {
      rm.kill();
      await rm.exited;
    }
  });

  it('check refuses a log pattern with a backreference or lookaround (no linear-time match), at its line', () => {
    const file = writeConfig('programs:\n  a: {command: "sleep 1", healthcheck: {log: "(a+)+\\\\1$"}}\n  b: {command: "sleep 1", healthcheck: {log: "ready(?=!)"}}\n');
    const r = spawnSync(process.execPath, [BUNDLE, 'check', '-c', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /:2:\d+: programs.a.healthcheck.log: uses a backreference or a lookaround/);
    assert.match(r.stderr, /:3:\d+: programs.b.healthcheck.log: uses a backreference or a lookaround/);
  });
});
