// Issue #5 item 5: reload by `ctl reload` and SIGHUP applies only the difference; a bad config
// is reported and changes nothing. Also `ctl avail`.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { NO_UNSHARE, Ringmaster, alive, canUnshare, tempDir } from './support/ringmaster';

/** name -> pid of every RUNNING process, from `ctl status`. */
async function pids(socket: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await ctl(socket, 'status')).out.split('\n')) {
    const m = /^(\S+)\s+RUNNING\s+pid (\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const program = (cmd: string) => `{command: ${JSON.stringify(cmd)}, startsecs: 0}`;

function config(socket: string, programs: Record<string, string>): string {
  return `settings: {socket: ${socket}}\nprograms:\n${Object.entries(programs).map(([n, p]) => `  ${n}: ${p}\n`).join('')}`;
}

const BEFORE = { keep: program('sleep 1001'), change: program('sleep 1002'), drop: program('sleep 1003'), env: `{command: "sleep 1004", startsecs: 0, environment: {A: "1", B: "2"}}` };
// `env` lists the same variables in another order: not a change.
const AFTER = { keep: program('sleep 1001'), change: program('sleep 1012'), add: program('sleep 1005'), env: `{command: "sleep 1004", startsecs: 0, environment: {B: "2", A: "1"}}` };

for (const how of ['ctl reload', 'SIGHUP'] as const) {
  for (const pid1 of [false, true]) {
    if (how === 'ctl reload' && pid1) continue;
    describe(`reload by ${how}${pid1 ? ' as PID 1' : ''}`, { skip: pid1 && !canUnshare() ? NO_UNSHARE : undefined }, () => {
      it('starts added programs, stops removed ones, restarts changed ones, leaves the rest alone', async () => {
        const dir = tempDir('rm-reload-');
        const socket = path.join(dir, 'rm.sock');
        const file = path.join(dir, 'ringmaster.yaml');
        writeFileSync(file, config(socket, BEFORE));
        const rm = new Ringmaster({ pid1, args: ['-c', file] });
        try {
          await rm.waitFor(/ringmaster .* 4 processes/);
          let before: Record<string, number> = {};
          const until = Date.now() + 10_000;
          while (Object.keys(before).length < 4 && Date.now() < until) before = await pids(socket);
          assert.deepEqual(Object.keys(before).sort(), ['change', 'drop', 'env', 'keep']);

          writeFileSync(file, config(socket, AFTER));
          if (how === 'ctl reload') {
            const r = await ctl(socket, 'reload');
            assert.equal(r.code, 0, r.out);
            assert.equal(r.out, 'drop: removed\nchange: restarted with its new config\nadd: added\n');
          } else {
            await rm.signal('SIGHUP');
            await rm.waitFor(/reloaded: added add; changed change; removed drop/);
          }
          await rm.waitFor(/add entered RUNNING/);
          const after = await pids(socket);
          assert.deepEqual(Object.keys(after).sort(), ['add', 'change', 'env', 'keep']);
          assert.equal(after.keep, before.keep, 'an unchanged program keeps its pid');
          assert.equal(after.env, before.env, 'the order of environment keys is not a change');
          assert.notEqual(after.change, before.change);
          if (!pid1) {
            assert.equal(alive(before.drop), false, 'the removed program is gone');
            assert.equal(alive(before.change), false, 'the old process of the changed program is gone');
          }
          assert.doesNotMatch((await ctl(socket, 'status')).out, /^drop/m);
          assert.match((await ctl(socket, 'avail')).out, /^add\s+in use\s+auto\s+999:999$/m);

          // a config with problems: reported, nothing changes
          writeFileSync(file, config(socket, { ...AFTER, keep: '{command: sleep 1, autorestart: sometimes}' }));
          if (how === 'ctl reload') {
            const r = await ctl(socket, 'reload');
            assert.equal(r.code, 1);
            assert.match(r.out, /nothing changed[\s\S]*ringmaster\.yaml:\d+:\d+: programs\.keep\.autorestart: /);
          } else {
            await rm.signal('SIGHUP');
            await rm.waitFor(/reload refused: 1 problem/);
            // A refused reload is an error: on stderr (SPEC §3).
            assert.match(rm.stderr, /reload: .*ringmaster\.yaml:\d+:\d+: programs\.keep\.autorestart: /);
          }
          assert.deepEqual(await pids(socket), after);

          await rm.signal('SIGTERM');
          assert.equal((await rm.wait()).code, 0);
        } finally {
          rm.kill();
        }
      });
    });
  }
}

describe('ctl avail', () => {
  it('lists every program of the config, in use or not, auto or manual, with its priority', async () => {
    const dir = tempDir('rm-avail-');
    const socket = path.join(dir, 'rm.sock');
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, config(socket, { a: program('sleep 1000'), b: '{command: sleep 1000, autostart: false, priority: 5}' }));
    const rm2 = new Ringmaster({ args: ['-c', file] });
    try {
      await rm2.waitFor(/a entered RUNNING/);
      const r = await ctl(socket, 'avail');
      assert.equal(r.code, 0);
      assert.equal(r.out, `${'b'.padEnd(32)} in use    manual    5:5\n${'a'.padEnd(32)} in use    auto      999:999\n`);
      await rm2.signal('SIGTERM');
      assert.equal((await rm2.wait()).code, 0);
    } finally {
      rm2.kill();
    }
  });
});
