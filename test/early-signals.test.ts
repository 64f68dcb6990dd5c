// A shutdown signal that arrives while ringmaster still reads its config is kept and acted on once
// its handlers exist (as PID 1 the kernel would drop a signal that has no handler: `docker stop`
// right after `docker run` then waited for docker's SIGKILL). Real signals, in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './support/ringmaster';

const SCRIPT = `
const { holdEarlySignals, replayEarlySignals } = require(${JSON.stringify(path.join(ROOT, 'src/pid1/signals.ts'))});
const release = holdEarlySignals();
process.kill(process.pid, 'SIGTERM');
process.kill(process.pid, 'SIGHUP');
// Still alive a moment later: the signals were held, not fatal.
setTimeout(() => {
  const seen = [];
  process.on('SIGTERM', () => seen.push('TERM'));
  process.on('SIGHUP', () => seen.push('HUP'));
  replayEarlySignals(release);
  setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(0); }, 200);
}, 200);
`;

describe('signals before the handlers (issue #13 finding)', () => {
  it('are held, then raised again for the real handlers', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).sort(), ['HUP', 'TERM']);
  });

  it('after release, a signal has its default meaning again (a ctl or check process dies of TERM)', () => {
    const script = `
const { holdEarlySignals, replayEarlySignals } = require(${JSON.stringify(path.join(ROOT, 'src/pid1/signals.ts'))});
const release = holdEarlySignals();
replayEarlySignals(release);
process.kill(process.pid, 'SIGTERM');
setTimeout(() => process.exit(0), 2000);
`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.signal, 'SIGTERM');
  });
});
