// Issue #12 (hardening), log files: a full disk turns a log file off only for a while, and the
// logrotate signal (SIGUSR2) reopens the files without killing the programs. The built bundle,
// a real tmpfs of 256 KiB filled and emptied by the test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { httpUnix } from './support/http';
import { Ringmaster, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';

function mountTmpfs(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]).status === 0;
}

describe('#21 log files and a full disk, log files and SIGUSR2', () => {
  const d0 = tempDir();
  const canMount = mountTmpfs(path.join(d0, 'probe'));
  if (canMount) spawnSync('umount', [path.join(d0, 'probe')]);

  it('after ENOSPC the file is tried again and written once there is room, without SIGUSR2', { skip: !canMount && 'cannot mount a tmpfs here (needs root)' }, async () => {
    const d = tempDir();
    const logs = path.join(d, 'logs');
    assert.ok(mountTmpfs(logs));
    const file = writeConfig([
      `settings: {socket: ${path.join(d, 'rm.sock')}}`,
      'programs:',
      `  w: {command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line-$i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; sleep 0.01; done"], stdout_logfile: ${path.join(logs, 'w.log')}}`,
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/w\s+\| line-5 /);
      // Fill the rest of the tmpfs.
      try {
        writeFileSync(path.join(logs, 'filler'), Buffer.alloc(512 * 1024));
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      await rm.waitFor(/w\.log: .*ENOSPC.*not writing it/);
      rmSync(path.join(logs, 'filler'));
      await rm.waitFor(/w\.log: writing again \(\d+ bytes were not written\)/, 20_000);
      const lastLine = () => Number([...rm.stdout.matchAll(/line-(\d+) /g)].pop()?.[1] ?? 0);
      const next = lastLine() + 20;
      await eventually(() => readFileSync(path.join(logs, 'w.log'), 'latin1').includes(`line-${next} `), 20_000, `line-${next} in the log file after the disk had room again`);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
      spawnSync('umount', ['-l', logs]);
    }
  });

  it('with log files, SIGUSR2 reopens them and is not forwarded by default: a program that does not trap it lives on', async () => {
    const d = tempDir();
    const log = path.join(d, 'p.log');
    const file = writeConfig([
      `settings: {socket: ${path.join(d, 'rm.sock')}}`,
      'programs:',
      `  p: {command: ["sh", "-c", "echo up; while :; do sleep 0.05; echo tick; done"], stdout_logfile: ${log}}`,
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/p entered RUNNING/);
      renameSync(log, `${log}.rotated`); // logrotate's move
      await rm.signal('SIGUSR2');
      await eventually(() => existsSync(log) && readFileSync(log, 'latin1').includes('tick'), 10_000, 'the reopened log file');
      await sleep(300);
      assert.doesNotMatch(rm.stdout + rm.stderr, /p.*(SIGUSR2|exited|EXITED)/);
      assert.match(rm.stdout, /p entered RUNNING/);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
    }
  });

  it('listed in forward_signals, SIGUSR2 is forwarded as well', async () => {
    const d = tempDir();
    const file = writeConfig([
      `settings: {socket: ${path.join(d, 'rm.sock')}, forward_signals: [USR2]}`,
      'programs:',
      `  p: {command: ["sh", "-c", "trap 'echo got-usr2' USR2; echo up; while :; do sleep 0.05; done"], stdout_logfile: ${path.join(d, 'p.log')}}`,
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/p\s+\| up/);
      await rm.signal('SIGUSR2');
      await rm.waitFor(/p\s+\| got-usr2/);
    } finally {
      await rm.signal('SIGTERM').catch(() => {});
      await rm.wait(20_000);
    }
  });
});

describe('a log file that is a FIFO never blocks ringmaster (from reading: open() and write() on a pipe)', () => {
  it('with no reader on the FIFO, the program\'s lines still reach the console and the socket answers', async () => {
    const d = tempDir();
    const fifo = path.join(d, 'out.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const sock = path.join(d, 'rm.sock');
    const file = writeConfig([
      `settings: {socket: ${sock}}`,
      'programs:',
      `  p: {command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.05; done"], stdout_logfile: ${fifo}}`,
      '',
    ].join('\n'), d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/p\s+\| tick-20\n/, 20_000);
      const r = await httpUnix(sock, 'GET', '/healthz', undefined, 5000);
      assert.equal(r.status, 200);
    } finally {
      rm.kill();
      await rm.exited;
    }
  });
});
