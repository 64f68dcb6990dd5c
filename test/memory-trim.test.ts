// Issue #17: ringmaster gives back the executable's start-up pages and freed malloc memory once
// it goes quiet (src/pid1/memory-trim.ts, trimMemory in native/ringmaster.c), and keeps working:
// the pages it dropped fault back in when they are needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { eventually, ROOT, Ringmaster, tempDir, writeConfig } from './support/ringmaster';

/** kB of the process's resident file-backed pages (its executable's, mostly). */
function rssFileKb(pid: number): number {
  const m = /^RssFile:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

describe('memory trimming (issue #17)', () => {
  it('trimMemory drops the executable\'s clean pages and the process goes on working', () => {
    // A child of its own: the advice applies to the calling process.
    const script = `
      const m = { exports: {} };
      process.dlopen(m, ${JSON.stringify(path.join(ROOT, 'dist', 'ringmaster.node'))});
      const file = () => Number(/RssFile:\\s*(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);
      const before = file();
      const advised = m.exports.trimMemory();
      const after = file();
      // Code that was dropped must come back intact: compile, regexps, zlib, JSON.
      const z = require('zlib');
      const text = JSON.stringify({ ok: /^(a+)+b$/.test('aaab'), n: z.gunzipSync(z.gzipSync('x'.repeat(1000))).length });
      console.log(JSON.stringify({ before, after, advised, text }));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const { before, after, advised, text } = JSON.parse(r.stdout);
    assert.ok(advised > 10 * 1024 * 1024, `advised ${advised} bytes`);
    assert.ok(after < before - 8 * 1024, `RssFile ${before} kB -> ${after} kB`);
    assert.equal(text, '{"ok":true,"n":1000}');
  });

  it('a quiet ringmaster drops its start-up pages; control calls and a restart work afterwards', async () => {
    const dir = tempDir('rm-trim-');
    const socket = path.join(dir, 's.sock');
    const config = writeConfig(`settings: {socket: ${socket}}
programs:
  s: {command: sleep 1000, numprocs: 20, process_name: "%(program_name)s_%(process_num)02d", startsecs: 0}
`, dir);
    const rm = new Ringmaster({ args: ['-c', config] });
    try {
      await rm.waitFor(/s_19 entered RUNNING/, 20_000);
      const pid = await rm.ringmasterPid();
      const peak = rssFileKb(pid);
      assert.ok(peak > 20 * 1024, `start-up RssFile ${peak} kB`);
      // Quiet for 1.5 s after the last state change: the trim follows.
      await eventually(() => rssFileKb(pid) < peak / 2, 20_000, `RssFile below half of ${peak} kB`);
      const status = await ctl(socket, 'status');
      assert.equal(status.code, 0, status.out);
      assert.equal(status.out.split('\n').filter((l) => /RUNNING/.test(l)).length, 20);
      const restart = await ctl(socket, 'restart', 's:s_03');
      assert.equal(restart.code, 0, restart.out);
      assert.match(restart.out, /s:s_03: started/);
    } finally {
      rm.proc.kill('SIGTERM');
      const exit = await rm.wait(15_000);
      assert.equal(exit.code, 0, rm.stdout + rm.stderr);
    }
  });
});
