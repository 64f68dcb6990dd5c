// Issue #12 (hardening), the processes side: what programs see of ringmaster's environment,
// whether they outlive a killed ringmaster, and whether a shutdown leaves any descendant behind.
// The built bundle with real programs; every leftover is found in /proc and killed by its pid.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ringmaster, alive, eventually, tempDir, writeConfig } from './support/ringmaster';

/** Pids whose command line is exactly `argv` (NULs between the words). */
function pidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'latin1') === want && alive(Number(e))) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

describe('#4 programs get no RINGMASTER_* variable of ringmaster\'s own', () => {
  it('RINGMASTER_HTTP_PASSWORD and RINGMASTER_CONFIG_YAML stay with ringmaster; a program\'s own environment may still set one', async () => {
    const d = tempDir();
    const yaml = [
      `settings: {socket: ${path.join(d, 'rm.sock')}}`,
      'programs:',
      '  a: {command: ["sh", "-c", "env | grep ^RINGMASTER_ | sort | sed s/^/seen:/; echo done"], startsecs: 0, autorestart: false}',
      '  b: {command: ["sh", "-c", "echo own:$RINGMASTER_MINE"], startsecs: 0, autorestart: false, environment: {RINGMASTER_MINE: "yes"}}',
    ].join('\n');
    const rm = new Ringmaster({
      env: { RINGMASTER_CONFIG_YAML: yaml, RINGMASTER_HTTP_PASSWORD: 'hunter2', RINGMASTER_HTTP_USERNAME: 'admin', RINGMASTER_LOG_FORMAT: 'text', RINGMASTER_CONFIG: '' },
    });
    try {
      await rm.waitFor(/a\s+\| done/);
      await rm.waitFor(/b\s+\| own:yes/);
      assert.doesNotMatch(rm.stdout, /seen:/, 'a program saw a RINGMASTER_ variable');
      assert.doesNotMatch(rm.stdout, /hunter2/);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
    }
  });
});

describe('#11 programs die with a ringmaster that is not PID 1', () => {
  it('SIGKILL to ringmaster takes its programs down (PR_SET_PDEATHSIG), even one that ignores TERM', async () => {
    const d = tempDir();
    const file = writeConfig([
      `settings: {socket: ${path.join(d, 'rm.sock')}}`,
      'programs:',
      '  a: {command: ["sleep", "311.411"]}',
      '  b: {command: ["sh", "-c", "trap \'\' TERM; echo up; exec sleep 311.412"]}',
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    let pids: number[] = [];
    try {
      await rm.waitFor(/a entered RUNNING/);
      await rm.waitFor(/b entered RUNNING/);
      pids = [...pidsRunning(['sleep', '311.411']), ...pidsRunning(['sleep', '311.412'])];
      assert.equal(pids.length, 2, 'both programs run');
      rm.kill(); // SIGKILL: no failsafe, no shutdown
      await rm.exited;
      await eventually(() => pids.every((p) => !alive(p)), 5000, 'the programs to die with ringmaster');
    } finally {
      rm.kill();
      killAll(pids);
    }
  });
});

describe('exec health checks do not outlive a killed ringmaster (from reading)', () => {
  it('a running exec check dies with ringmaster', async () => {
    const d = tempDir();
    const file = writeConfig([
      `settings: {socket: ${path.join(d, 'rm.sock')}}`,
      'programs:',
      '  a: {command: ["sleep", "311.511"], healthcheck: {exec: ["sleep", "311.512"], timeout: 10m, interval: 20m}}',
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    let pids: number[] = [];
    try {
      await rm.waitFor(/a entered RUNNING/);
      await eventually(() => pidsRunning(['sleep', '311.512']).length === 1, 10_000, 'the check to run');
      pids = [...pidsRunning(['sleep', '311.511']), ...pidsRunning(['sleep', '311.512'])];
      rm.kill();
      await rm.exited;
      await eventually(() => pids.every((p) => !alive(p)), 5000, 'the program and its check to die with ringmaster');
    } finally {
      rm.kill();
      killAll(pids);
    }
  });
});

describe('#12 a shutdown leaves no descendant behind, however deep', () => {
  const config = (d: string) => writeConfig([
    `settings: {socket: ${path.join(d, 'rm.sock')}}`,
    'programs:',
    `  a: {command: ["sh", "-c", "setsid sh -c 'sleep 311.311 & exec sleep 311.312' & echo started; exec sleep 311.313"]}`,
    '',
  ].join('\n'), d);
  const all = () => [...pidsRunning(['sleep', '311.311']), ...pidsRunning(['sleep', '311.312']), ...pidsRunning(['sleep', '311.313'])];

  // Not as PID 1: there the kernel kills what is left when ringmaster ends, so that case could
  // not fail. As a subreaper, the leftovers would live on.
  {
    it("the orphan's own child (sleep 311.311) is killed too", async () => {
      const d = tempDir();
      const rm = new Ringmaster({ args: ['-c', config(d)] });
      try {
        await rm.waitFor(/a\s+\| started/);
        await eventually(() => all().length === 3, 10_000, 'the three sleeps');
        await rm.signal('SIGTERM');
        const exit = await rm.wait(30_000);
        assert.equal(exit.code, 0, rm.stdout + rm.stderr);
        const left = all();
        assert.deepEqual(left, [], `left behind: ${left.join(', ')}\n${rm.stdout}`);
      } finally {
        rm.kill();
        killAll(all());
      }
    });
  }
});
