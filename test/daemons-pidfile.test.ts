// SPEC §9 `pidfile:`: a command that daemonizes (forks and exits) is supervised through the pid
// its daemon writes: RUNNING with the daemon's pid, its exit seen at once with its own status
// (ringmaster is its init or subreaper), stops and signals go to it. A pid file that never
// appears, is left from an earlier run, or names a dead pid is a failed start. Real double-forking
// shells and Debian's start-stop-daemon, as PID 1 under unshare and as a subreaper.
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { NO_UNSHARE, Ringmaster, canUnshare, tempDir } from './support/ringmaster';

/**
 * A classic daemon: the command forks a new session and exits 0; the daemon writes its pid,
 * exits 0 on TERM and 3 on USR1 (each trap set before it says ready).
 */
const DAEMON = `#!/bin/sh
setsid sh -c 'trap "echo daemon got TERM; exit 0" TERM; trap "exit 3" USR1; echo $$ > "$0"; echo "daemon ready $$"; while :; do sleep 1000 & wait $!; done' "$1" &
exit 0
`;

/**
 * SIGKILL the daemons a run left (by the pids its output named): a daemon is ringmaster's
 * adopted grandchild, and outlives a ringmaster the test SIGKILLs when it is not PID 1.
 */
function killDaemons(rm: Ringmaster, re: RegExp): void {
  for (const m of rm.stdout.matchAll(re)) {
    try {
      process.kill(Number(m[1]), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function setup() {
  const dir = tempDir('rm-pidfile-');
  const daemon = path.join(dir, 'daemon.sh');
  writeFileSync(daemon, DAEMON, { mode: 0o755 });
  return { dir, daemon, socket: path.join(dir, 'rm.sock'), file: path.join(dir, 'ringmaster.yaml') };
}

for (const pid1 of [false, true]) {
  describe(`pidfile: ${pid1 ? 'as PID 1' : 'as a subreaper'}`, { skip: pid1 && !canUnshare() ? NO_UNSHARE : undefined }, () => {
    it('supervises the daemon as the program: its pid, its exit at once with its code, stops and signals to it', async () => {
      const { dir, daemon, socket, file } = setup();
      const pidfile = path.join(dir, 'd.pid');
      // log_level debug: a reap of an unknown pid would be printed (the daemon's must not be one).
      writeFileSync(file, `settings: {socket: ${socket}, log_level: debug}
programs:
  d: {command: "${daemon} ${pidfile}", pidfile: ${pidfile}, startsecs: 1, autorestart: false}
`);
      const rm = new Ringmaster({ pid1, args: ['-c', file] });
      try {
        const ready = await rm.waitFor(/daemon ready (\d+)/, 30_000);
        const running = await rm.waitFor(/d entered RUNNING \(pid (\d+)\)/);
        assert.equal(running[1], ready[1], 'RUNNING with the daemon\'s pid, not the command\'s');
        assert.match(rm.stdout, /d: command exited \(exit status 0\), reading pidfile/);
        assert.equal((await ctl(socket, 'pid', 'd')).out.trim(), ready[1]);
        assert.match((await ctl(socket, 'status', 'd')).out, new RegExp(`^d\\s+RUNNING\\s+pid ${ready[1]},`, 'm'));

        // The daemon ends on its own (USR1 through ctl): seen at once, with its exit status.
        const r = await ctl(socket, 'signal', 'USR1', 'd');
        assert.equal(r.code, 0, r.out);
        const sent = Date.now();
        await rm.waitFor(/exited: d \(exit status 3; not expected\)/);
        // By the SIGCHLD of an adopted child, handed to the process (not logged as an unknown orphan).
        assert.ok(Date.now() - sent < 4000, `seen after ${Date.now() - sent} ms`);
        assert.doesNotMatch(rm.stdout, new RegExp(`reaped unknown pid ${ready[1]}\\b`));
        assert.match((await ctl(socket, 'status', 'd')).out, /^d\s+EXITED\s/m);

        // Started again: a new daemon; a stop sends TERM to it and waits for it.
        assert.equal((await ctl(socket, 'start', 'd')).code, 0);
        const again = await rm.waitFor(/d entered RUNNING[\s\S]*d entered RUNNING \(pid (\d+)\)/);
        assert.notEqual(again[1], ready[1]);
        const stop = await ctl(socket, 'stop', 'd');
        assert.equal(stop.code, 0, stop.out);
        await rm.waitFor(/daemon got TERM/);
        assert.match(rm.stdout, /stopped: d \(exit status 0; by request\)/);
      } finally {
        rm.kill();
        if (!pid1) killDaemons(rm, /daemon ready (\d+)/g);
        await rm.wait();
      }
    });
  });
}

describe('pidfile: failed starts', () => {
  it('a pid file that never appears, was left from an earlier run, names a dead pid, or a daemon that dies within startsecs: FATAL with the reason', async () => {
    const { dir, socket, file } = setup();
    const stale = path.join(dir, 'stale.pid');
    writeFileSync(stale, `${process.pid}\n`); // a live pid, but written an hour before this start
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(stale, hourAgo, hourAgo);
    const dead = path.join(dir, 'dead.pid');
    const quick = path.join(dir, 'quick.pid');
    const never = path.join(dir, 'never.pid');
    // (`$$$$` is the shell's `$$`: the config reads `$$` as a literal `$`.)
    const p = (cmd: string, pidfile: string) => `{command: ${JSON.stringify(cmd)}, shell: true, pidfile: ${pidfile}, startsecs: 1, startretries: 0}`;
    writeFileSync(file, `settings: {socket: ${socket}}
programs:
  never: ${p('true', never)}
  stale: ${p('true', stale)}
  dead: ${p(`sh -c 'exit 0' & wait $!; echo $! > ${dead}`, dead)}
  quick: ${p(`setsid sh -c 'echo $$$$ > ${quick}; sleep 0.2; exit 4' &`, quick)}
`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      for (const name of ['never', 'stale', 'dead', 'quick']) await rm.waitFor(new RegExp(`gave up: ${name} entered FATAL`), 15_000);
      const status = (await ctl(socket, 'status')).out;
      assert.match(status, new RegExp(`^never\\s+FATAL\\s+pidfile ${never} did not appear`, 'm'));
      assert.match(status, new RegExp(`^stale\\s+FATAL\\s+pidfile ${stale} was not written since this start`, 'm'));
      assert.match(status, new RegExp(`^dead\\s+FATAL\\s+pidfile ${dead} names pid \\d+, which is not running`, 'm'));
      assert.match(status, /^quick\s+FATAL\s+Exited too quickly/m);
      assert.match(rm.stdout, /exited: quick \(exit status 4; not expected\), too quickly/);
    } finally {
      rm.kill();
      await rm.wait();
    }
  });
});

describe('pidfile: a stop while the pid file is awaited', () => {
  it('waits for the daemon to appear and stops it (no daemon is left unsupervised)', async () => {
    const { dir, socket, file } = setup();
    const pidfile = path.join(dir, 'late.pid');
    const late = path.join(dir, 'late.sh');
    // Exits at once; its daemon writes the pid file 3 s later.
    writeFileSync(late, `#!/bin/sh\n( sleep 3; exec setsid sh -c 'trap "echo late daemon got TERM; exit 0" TERM; echo $$ > "$0"; while :; do sleep 0.2; done' "${pidfile}" ) &\nexit 0\n`, { mode: 0o755 });
    writeFileSync(file, `settings: {socket: ${socket}}\nprograms:\n  late: {command: ${late}, pidfile: ${pidfile}, startsecs: 10}\n`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/late: command exited \(exit status 0\), reading pidfile/, 30_000);
      const stop = await ctl(socket, 'stop', 'late');
      assert.equal(stop.code, 0, stop.out);
      assert.match(rm.stdout, /late: daemon pid \d+ from/);
      assert.match(rm.stdout, /late daemon got TERM/);
      assert.match(rm.stdout, /stopped: late \(exit status 0; by request\)/);
      assert.match((await ctl(socket, 'status', 'late')).out, /^late\s+STOPPED/m);
    } finally {
      rm.kill();
      killDaemons(rm, /late: daemon pid (\d+)/g);
      await rm.wait();
    }
  });
});

describe('pidfile: a real Debian daemonizer', () => {
  it('start-stop-daemon --background: the daemon (not a group leader) is RUNNING, signalled alone, stopped', async () => {
    const { dir, socket, file } = setup();
    const pidfile = path.join(dir, 'ssd.pid');
    writeFileSync(file, `settings: {socket: ${socket}}
programs:
  ssd: {command: "start-stop-daemon --start --background --make-pidfile --pidfile ${pidfile} --exec /bin/sleep -- 1000", pidfile: ${pidfile}, startsecs: 1}
`);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      const m = await rm.waitFor(/ssd: daemon pid (\d+) from .* \(signalled alone: it does not lead a process group\)/);
      await rm.waitFor(new RegExp(`ssd entered RUNNING \\(pid ${m[1]}\\)`));
      const stop = await ctl(socket, 'stop', 'ssd');
      assert.equal(stop.code, 0, stop.out);
      assert.match(rm.stdout, /stopped: ssd \(terminated by SIGTERM; by request\)/);
    } finally {
      rm.kill();
      killDaemons(rm, /ssd: daemon pid (\d+)/g);
      await rm.wait();
    }
  });
});
