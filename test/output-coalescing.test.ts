// Issue #17: a program that writes line by line costs ringmaster a read and a write per burst, not
// per line. Reads of a busy pipe are coalesced (at most one per COALESCE_MS) and everything read
// in a turn of the event loop leaves in one write; counted with the kernel's own syscall counters
// (/proc/<pid>/io syscr, syscw) on the built bundle, with a real program and real pipes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { Ringmaster, tempDir, writeConfig } from './support/ringmaster';

const LINES = 20_000;

function syscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return { reads: Number(/^syscr: (\d+)/m.exec(io)![1]), writes: Number(/^syscw: (\d+)/m.exec(io)![1]) };
}

it('a program writing 20000 lines one write() each, ~25 µs apart: ringmaster reads and writes at most about once per ms, and every line arrives whole and in order', async () => {
  const dir = tempDir('rm-coalesce-');
  const fifo = path.join(dir, 'go');
  execFileSync('mkfifo', [fifo]);
  // Opening the FIFO blocks until the test opens it too: the burst starts after the test's first count.
  const gen = path.join(dir, 'gen.js');
  writeFileSync(gen, `'use strict';
const fs = require('fs');
fs.readFileSync(${JSON.stringify(fifo)});
function out(s) {
  const b = Buffer.from(s);
  for (let from = 0; from < b.length; ) {
    try { from += fs.writeSync(1, b, from); }
    catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
const t0 = process.hrtime.bigint();
for (let i = 0; i < ${LINES}; i++) {
  out('line ' + i + '\\n');
  const until = process.hrtime.bigint() + 25000n;
  while (process.hrtime.bigint() < until) {}
}
out('done in ' + Number((process.hrtime.bigint() - t0) / 1000000n) + ' ms\\n');
setTimeout(() => {}, 30000);
`);
  const rm = new Ringmaster({
    args: ['-c', writeConfig(`programs:\n  gen: {command: ${JSON.stringify([process.execPath, gen])}, startsecs: 0}\n`, dir)],
  });
  try {
    await rm.waitFor(/gen entered RUNNING/);
    const pid = await rm.ringmasterPid();
    const before = syscalls(pid);
    writeFileSync(fifo, 'go');
    const ms = Number((await rm.waitFor(/gen \| done in (\d+) ms\n/, 60_000))[1]);
    const after = syscalls(pid);
    const reads = after.reads - before.reads;
    const writes = after.writes - before.writes;
    const lines = rm.stdout.split('\n').filter((l) => l.startsWith('gen | line '));
    assert.deepEqual(lines, Array.from({ length: LINES }, (_, i) => `gen | line ${i}`));
    // One read and one write per ms of the burst at most (plus slack for timer lateness and the
    // lines around it); a read per line would be ~20000.
    const bound = 2 * ms + 200;
    assert.ok(reads <= bound, `${reads} reads for ${LINES} lines in ${ms} ms (bound ${bound})`);
    assert.ok(writes <= bound, `${writes} writes for ${LINES} lines in ${ms} ms (bound ${bound})`);
    console.log(`# ${LINES} lines in ${ms} ms: ringmaster made ${reads} reads and ${writes} writes`);
  } finally {
    if (rm.proc.exitCode === null) await rm.signal('SIGTERM').catch(() => {});
    await rm.wait();
  }
});
