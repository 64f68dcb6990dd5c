// End to end: the built dist/ringmaster.cjs on real configs with real programs and signals.
// Build first: `npm run build:bundle` (npm test does it).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ringmaster, alive, eventually, sleep, tempDir, writeConfig } from './support/ringmaster';

function run(yaml: string, opts: { env?: NodeJS.ProcessEnv; args?: string[] } = {}) {
  const file = writeConfig(yaml);
  return new Ringmaster({ args: ['-c', file, ...(opts.args ?? [])], env: opts.env });
}

describe('output (SPEC §3)', () => {
  it('prefixes every line with the padded process name, stderr on stderr', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  web: {command: "sh -c 'echo GET / 200; echo oops >&2'", startsecs: 0, autorestart: false}
  worker: {command: "sh -c 'echo job 17 done'", startsecs: 0, autorestart: false}
`);
    const exit = await rm.wait();
    assert.equal(exit.code, 0);
    assert.match(rm.stdout, /^web    \| GET \/ 200$/m);
    assert.match(rm.stdout, /^worker \| job 17 done$/m);
    assert.match(rm.stderr, /^web    \| oops$/m);
    assert.doesNotMatch(rm.stdout, /oops/);
    assert.match(rm.stdout, /^ringmaster \| .*web/m);
  });

  it('numprocs processes print under their process names', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  w: {command: "sh -c 'echo I am $SUPERVISOR_PROCESS_NAME'", numprocs: 2, startsecs: 0, autorestart: false}
`);
    await rm.wait();
    assert.match(rm.stdout, /^w_00 \| I am w_00$/m);
    assert.match(rm.stdout, /^w_01 \| I am w_01$/m);
  });

  it('a partial last line is flushed when the program exits', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  p: {command: "printf 'no newline at end'", startsecs: 0, autorestart: false}
`);
    await rm.wait();
    assert.match(rm.stdout, /^p \| no newline at end$/m);
  });

  it('a line over 64 KiB arrives in pieces of at most 64 KiB that add up to it', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  p: {command: ["sh", "-c", "head -c 200000 /dev/zero | tr '\\\\0' x; echo"], startsecs: 0, autorestart: false}
`);
    await rm.wait();
    const pieces = rm.stdout.split('\n').filter((l) => l.startsWith('p | x')).map((l) => l.slice(4));
    assert.ok(pieces.length >= 4, `expected several pieces, got ${pieces.length}`);
    for (const piece of pieces) assert.ok(piece.length <= 65536);
    assert.equal(pieces.join('').length, 200000);
  });
});

describe('exit policy and codes (SPEC §5)', () => {
  it('critical: the container ends with the critical program\'s code and prints a summary', async () => {
    const rm = run(`
programs:
  app: {command: "sh -c 'sleep 0.3; exit 3'", startsecs: 0, critical: true, autorestart: false}
  side: {command: "sleep 1000", startsecs: 0}
`);
    const exit = await rm.wait();
    assert.equal(exit.code, 3);
    assert.match(rm.stdout, /app: EXITED, exit code 3/);
    assert.match(rm.stdout, /side: STOPPED, exit code 143 \(terminated by SIGTERM\)/);
  });

  it('critical: a program killed by signal N gives 128+N', async () => {
    const rm = run(`
programs:
  app: {command: "sh -c 'sleep 0.2; kill -KILL $$$$'", startsecs: 0, critical: true, autorestart: false}
`);
    assert.equal((await rm.wait()).code, 137);
  });

  it('critical: a command that does not exist goes FATAL and gives 127', async () => {
    const rm = run(`
programs:
  app: {command: "/no/such/program", critical: true, startretries: 1, backoff: {initial: 50ms}}
`);
    const exit = await rm.wait();
    assert.equal(exit.code, 127);
    // spawnerr is a warning and FATAL an error: both on stderr (SPEC §3).
    assert.match(rm.stderr, /can't find command '\/no\/such\/program'/);
    assert.match(rm.stderr, /app entered FATAL|gave up: app entered FATAL/);
  });

  it('critical: a file that is not executable gives 126', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'script.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const rm = run(`
programs:
  app: {command: "${file}", critical: true, startretries: 0}
`);
    assert.equal((await rm.wait()).code, 126);
  });

  it('critical: exiting 0 too quickly, startretries times over, gives 1 after 1+startretries starts', async () => {
    const rm = run(`
programs:
  app: {command: "true", critical: true, startsecs: 1, startretries: 2, backoff: {initial: 50ms, max: 100ms}}
`);
    const exit = await rm.wait();
    assert.equal(exit.code, 1);
    assert.equal(rm.stdout.match(/spawned: app with pid/g)?.length, 3);
    assert.match(rm.stdout, /app: FATAL/);
  });

  it('any: the first program to end for good ends the container', async () => {
    const rm = run(`
settings: {exit_policy: any}
programs:
  quick: {command: "sh -c 'sleep 0.2; exit 4'", startsecs: 0, exitcodes: [0, 4]}
  long: {command: "sleep 1000", startsecs: 0}
`);
    assert.equal((await rm.wait()).code, 4);
  });

  it('all: waits for every program, then 0 when all codes were expected', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  a: {command: "sh -c 'sleep 0.2'", startsecs: 0}
  b: {command: "sh -c 'sleep 0.5; exit 5'", startsecs: 0, exitcodes: [5]}
`);
    assert.equal((await rm.wait()).code, 0);
  });

  it('all: the first unexpected code wins', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  a: {command: "sh -c 'sleep 0.1; exit 6'", startsecs: 0, autorestart: false}
  b: {command: "sh -c 'sleep 0.4; exit 7'", startsecs: 0, autorestart: false}
`);
    assert.equal((await rm.wait()).code, 6);
  });

  it('a crashing program is restarted with backoff while others run', async () => {
    const dir = tempDir();
    const counter = path.join(dir, 'count');
    const rm = run(`
programs:
  crash: {command: "sh -c 'echo x >> ${counter}; sleep 0.2; exit 1'", startsecs: 0.1, backoff: {initial: 100ms, max: 200ms}}
`);
    await eventually(() => existsSync(counter) && readFileSync(counter, 'utf8').length >= 6, 8000, '3 starts');
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
    assert.match(rm.stdout, /crash will restart in 0\.\ds/);
  });
});

describe('shutdown (SPEC §4)', () => {
  it('TERM stops programs in reverse priority, a level gone before the next, then exits 0', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'order');
    const prog = (name: string, prio: number) =>
      `  ${name}: {command: ["sh", "-c", "trap 'sleep 0.3; echo ${name} >> ${log}; exit 0' TERM; echo ready; while :; do sleep 0.05; done"], priority: ${prio}, startsecs: 0}`;
    const rm = run(`programs:\n${prog('first', 1)}\n${prog('second', 2)}\n${prog('third', 3)}\n`);
    // Each says `ready` once its trap is set: a TERM before that would kill it (a race on a busy machine).
    for (const name of ['first', 'second', 'third']) await rm.waitFor(new RegExp(`^${name} +\\| ready$`, 'm'));
    await rm.signal('SIGTERM');
    const exit = await rm.wait();
    assert.equal(exit.code, 0);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['third', 'second', 'first']);
  });

  it('a program that ignores TERM is SIGKILLed after stopwaitsecs', async () => {
    const rm = run(`
programs:
  stubborn: {command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], stopwaitsecs: 0.5, startsecs: 0}
`);
    await rm.waitFor(/^stubborn +\| ready$/m);
    const t0 = Date.now();
    await rm.signal('SIGTERM');
    const exit = await rm.wait();
    const took = Date.now() - t0;
    assert.equal(exit.code, 0);
    assert.match(rm.stderr, /killing stubborn .* with SIGKILL/);
    assert.ok(took >= 450, `killed too early (${took} ms)`);
  });

  it('the whole process group goes: a background grandchild is stopped too', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'grandchild');
    const rm = run(`
programs:
  parent: {command: ["sh", "-c", "sleep 1000 & echo $! > ${pidFile}; wait"], startsecs: 0}
`);
    await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000, 'grandchild pid');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(alive(grandchild));
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
    assert.equal(alive(grandchild), false, 'grandchild survived the shutdown');
  });

  it('a stop waits for group members that outlive the leader, killing them after stopwaitsecs', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'straggler');
    const rm = run(`
programs:
  leader: {command: ["sh", "-c", "sh -c 'trap \\"\\" TERM; echo $$$$ > ${pidFile}; while :; do sleep 0.05; done' & wait"], startsecs: 0, stopwaitsecs: 0.5}
`);
    await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000, 'straggler pid');
    const straggler = Number(readFileSync(pidFile, 'utf8'));
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
    assert.equal(alive(straggler), false, 'the TERM-ignoring group member survived');
    assert.match(rm.stderr, /killing leader .* with SIGKILL/);
  });

  it('a second TERM during the shutdown kills at once', async () => {
    const rm = run(`
programs:
  stubborn: {command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], stopwaitsecs: 30, startsecs: 0}
`);
    await rm.waitFor(/^stubborn +\| ready$/m);
    await rm.signal('SIGTERM');
    await rm.waitFor(/stopping stubborn/);
    const t0 = Date.now();
    await rm.signal('SIGINT');
    assert.equal((await rm.wait(5000)).code, 0);
    assert.ok(Date.now() - t0 < 3000);
    assert.match(rm.stdout, /killing everything now/);
  });

  it('shutdown_timeout is a hard deadline for the whole shutdown', async () => {
    const rm = run(`
settings: {shutdown_timeout: 0.5s}
programs:
  stubborn: {command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], stopwaitsecs: 60, startsecs: 0}
`);
    await rm.waitFor(/^stubborn +\| ready$/m);
    const t0 = Date.now();
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait(5000)).code, 0);
    assert.ok(Date.now() - t0 < 3000);
    assert.match(rm.stderr, /shutdown_timeout \(0\.5s\) reached/);
  });

  it('INT and QUIT shut down like TERM', async () => {
    for (const sig of ['SIGINT', 'SIGQUIT'] as const) {
      const rm = run(`programs:\n  s: {command: "sleep 1000", startsecs: 0}\n`);
      await rm.waitFor(/s entered RUNNING/);
      await rm.signal(sig);
      assert.equal((await rm.wait()).code, 0, sig);
      assert.match(rm.stdout, new RegExp(`received ${sig}`));
    }
  });
});

describe('starting programs (SPEC §2)', () => {
  it('environment: settings < env_file < program, plus Supervisor\'s variables', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'app.env'), 'FROM_FILE=file\nOVER=file\n');
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, `
settings:
  exit_policy: all
  environment: {GLOBAL: g, OVER: settings}
programs:
  envy:
    command: ["sh", "-c", "echo G=$GLOBAL F=$FROM_FILE O=$OVER P=$PROG E=$SUPERVISOR_ENABLED N=$SUPERVISOR_PROCESS_NAME GR=$SUPERVISOR_GROUP_NAME"]
    env_file: app.env
    environment: {PROG: p, OVER: program}
    startsecs: 0
    autorestart: false
`);
    const rm = new Ringmaster({ args: ['-c', file] });
    await rm.wait();
    assert.match(rm.stdout, /envy \| G=g F=file O=program P=p E=1 N=envy GR=envy/);
  });

  it('string commands are split like a shell without a shell; shell: true uses /bin/sh', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  split: {command: "printf '%s|' 'a b' \\"c d\\" e\\\\ f $HOME", startsecs: 0, autorestart: false}
  shelled: {command: "echo $((6 * 7))", shell: true, startsecs: 0, autorestart: false}
`);
    await rm.wait();
    assert.match(rm.stdout, /split +\| a b\|c d\|e f\|\$HOME\|/);
    assert.match(rm.stdout, /shelled \| 42/);
  });

  it('directory and umask apply to the program', async () => {
    const dir = tempDir();
    const rm = run(`
settings: {exit_policy: all}
programs:
  where: {command: ["sh", "-c", "pwd; umask"], directory: ${dir}, umask: "027", startsecs: 0, autorestart: false}
`);
    await rm.wait();
    assert.match(rm.stdout, new RegExp(`where \\| ${dir}$`, 'm'));
    assert.match(rm.stdout, /where \| 0027$/m);
  });

  it('each program runs in its own process group', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  grp: {command: ["sh", "-c", "echo pid=$$$$ pgid=$(cut -d' ' -f5 /proc/$$$$/stat)"], startsecs: 0, autorestart: false}
`);
    await rm.wait();
    const m = rm.stdout.match(/pid=(\d+) pgid=(\d+)/);
    assert.ok(m);
    assert.equal(m[1], m[2]);
  });

  it('user: runs the program as that user with that user\'s groups only', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to switch users');
    const rm = run(`
settings: {exit_policy: all}
programs:
  nob: {command: ["sh", "-c", "id -u; id -g; grep -E '^Groups' /proc/self/status"], user: nobody, startsecs: 0, autorestart: false}
`);
    await rm.wait();
    assert.match(rm.stdout, /nob \| 65534$/m);
    assert.doesNotMatch(rm.stdout, /nob \| Groups:.*\b0\b/, 'kept root\'s group');
  });

  it('autostart false and disabled programs are not started; priority orders the starts', async () => {
    const rm = run(`
settings: {exit_policy: all}
programs:
  later: {command: "echo later", priority: 20, startsecs: 0, autorestart: false}
  sooner: {command: "echo sooner", priority: 10, startsecs: 0, autorestart: false}
  manual: {command: "echo manual", autostart: false}
  off: {command: "echo off", disabled: true}
`);
    await rm.wait();
    assert.doesNotMatch(rm.stdout, /^(manual|off) +\|/m);
    assert.ok(rm.stdout.indexOf('spawned: sooner') < rm.stdout.indexOf('spawned: later'));
    assert.match(rm.stdout, /manual: STOPPED, never started/);
  });
});

describe('bad config (SPEC §2)', () => {
  it('prints every problem as FILE:LINE:COL: key: message, starts nothing, exits 2', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'started');
    const file = writeConfig(`programs:
  good: {command: "touch ${marker}"}
  web:
    command: nginx
    autorestart: sometimes
    autorestat: true
`, dir);
    const rm = new Ringmaster({ args: ['-c', file] });
    const exit = await rm.wait();
    assert.equal(exit.code, 2);
    assert.match(rm.stderr, new RegExp(`${file}:5:18: programs\\.web\\.autorestart: expected true, false or unexpected, got "sometimes"`));
    assert.match(rm.stderr, /programs\.web\.autorestat: .*did you mean "autorestart"/);
    await sleep(200);
    assert.equal(existsSync(marker), false);
  });

  it('check validates without running anything', async () => {
    const good = new Ringmaster({ args: ['check', '-c', writeConfig('programs:\n  a: {command: "true"}\n')] });
    assert.equal((await good.wait()).code, 0);
    assert.match(good.stdout, /OK/);
    const bad = new Ringmaster({ args: ['check', '-c', writeConfig('programs:\n  a: {command: "true", numprocs: 0}\n')] });
    assert.equal((await bad.wait()).code, 2);
    assert.match(bad.stderr, /programs\.a\.numprocs/);
  });
});

describe('failing safely (SPEC §4)', () => {
  it('a fatal signal to ringmaster takes its programs\' process groups down', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'child');
    const rm = run(`
programs:
  victim: {command: ["sh", "-c", "sleep 1000 & echo $! > ${pidFile}; wait"], startsecs: 0}
`);
    await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 5000, 'child pid');
    const child = Number(readFileSync(pidFile, 'utf8'));
    await rm.signal('SIGALRM');
    const exit = await rm.wait();
    assert.equal(exit.signal, 'SIGALRM');
    await eventually(() => !alive(child), 3000, 'program gone');
  });
});

describe('as PID 1 (SPEC §4)', () => {
  it('reaps orphans of programs and stops on TERM from outside the namespace', async (t) => {
    const { canUnshare, NO_UNSHARE } = await import('./support/ringmaster');
    if (!canUnshare()) return t.skip(NO_UNSHARE);
    const dir = tempDir();
    const report = path.join(dir, 'zombies');
    // "reaped unknown pid" is a debug line (SPEC §3).
    const file = writeConfig(`
settings: {log_level: debug}
programs:
  forker: {command: ["sh", "-c", "for i in $(seq 200); do (sleep 0.05 &) ; done; sleep 1000"], startsecs: 0}
  counter:
    command: ["sh", "-c", "sleep 2; for s in /proc/[0-9]*/stat; do cut -d' ' -f3 $s; done 2>/dev/null | grep -c Z > ${report}; sleep 1000"]
    startsecs: 0
`);
    const rm = new Ringmaster({ args: ['-c', file], pid1: true });
    await rm.waitFor(/as PID 1/);
    await eventually(() => existsSync(report) && readFileSync(report, 'utf8').trim() !== '', 10_000, 'zombie count');
    assert.equal(readFileSync(report, 'utf8').trim(), '0', 'zombies left as PID 1');
    assert.match(rm.stdout, /reaped unknown pid/);
    await rm.signal('SIGTERM');
    assert.equal((await rm.wait()).code, 0);
  });
});
