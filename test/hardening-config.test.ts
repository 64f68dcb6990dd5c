// Issue #12 (hardening), the config side: what a typo, an unset variable or a hostile include
// used to do to `check` and `run`. Each case runs the built binary's `check` (and `run` or
// `convert` where the damage was at run time), with every wait bounded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { freePort } from './support/http';
import { BUNDLE, Ringmaster, tempDir, writeConfig } from './support/ringmaster';

/** `ringmaster VERB -c FILE` (or convert FILE), bounded; status, output. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 30_000) {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', timeout, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

const check = (file: string, env: NodeJS.ProcessEnv = {}) => cli(['check', '-c', file], env);

/** check refuses with exit 2, names FILE:LINE:COL and prints no stack trace. */
function refused(r: ReturnType<typeof cli>, re: RegExp): void {
  assert.equal(r.status, 2, `expected exit 2, got ${r.status} ${r.signal ?? ''}\n${r.out}\n${r.err}`);
  assert.match(r.err, re);
  assert.doesNotMatch(r.err + r.out, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

describe('#1 an empty http_username or http_password never opens the API', () => {
  it('http_password: ${RINGMASTER_HTTP_PASSWORD} with the variable unset or empty is refused at its line', () => {
    const file = writeConfig('settings:\n  http: "127.0.0.1:9"\n  http_username: admin\n  http_password: ${RINGMASTER_HTTP_PASSWORD}\nprograms: {a: {command: "sleep 1"}}\n');
    const env = { ...process.env };
    delete env.RINGMASTER_HTTP_PASSWORD;
    const r = spawnSync(process.execPath, [BUNDLE, 'check', '-c', file], { encoding: 'utf8', timeout: 30_000, env });
    refused({ status: r.status, signal: r.signal, out: r.stdout, err: r.stderr }, new RegExp(`${file}:4:18: settings.http_password: is empty`));
    refused(check(file, { RINGMASTER_HTTP_PASSWORD: '' }), /settings.http_password: is empty/);
  });

  it('an empty username, from the file or RINGMASTER_HTTP_USERNAME, is refused', () => {
    const file = writeConfig('settings: {http: "127.0.0.1:9", http_username: "", http_password: secret}\nprograms: {a: {command: "sleep 1"}}\n');
    refused(check(file), /:1:\d+: settings.http_username: is empty/);
    const other = writeConfig('settings: {http: "127.0.0.1:9", http_username: admin, http_password: secret}\nprograms: {a: {command: "sleep 1"}}\n');
    refused(check(other, { RINGMASTER_HTTP_USERNAME: '' }), /env:RINGMASTER_HTTP_USERNAME:1:1: settings.http_username: is empty/);
  });

  it('run refuses it too (exit 2) instead of serving /v1/status to `curl -u :`', async () => {
    const port = await freePort();
    const file = writeConfig(`settings: {http: "127.0.0.1:${port}", http_username: "", http_password: ""}\nprograms: {a: {command: "sleep 30"}}\n`);
    const rm = new Ringmaster({ args: ['-c', file], env: { RINGMASTER_SOCKET: path.join(tempDir(), 'rm.sock') } });
    try {
      const first = await Promise.race([rm.exited.then(() => 'exited'), rm.waitFor(/listening on http/, 30_000).then(() => 'listening')]);
      if (first === 'listening') {
        const r = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Basic ${Buffer.from(':').toString('base64')}` } });
        assert.fail(`served the API with empty credentials: ${r.status}`);
      }
      assert.equal((await rm.wait()).code, 2, rm.stdout + rm.stderr);
    } finally {
      rm.kill();
    }
  });
});

describe('#20 RINGMASTER_HTTP_PASSWORD and the other path-like settings are taken verbatim', () => {
  it('pa$$word stays pa$$word and ${x} inside is not interpolated', () => {
    const d = tempDir();
    const file = writeConfig('programs: {a: {command: "true"}}\n', d);
    const env = { RINGMASTER_HTTP_USERNAME: 'u$$er', RINGMASTER_HTTP_PASSWORD: 'pa$$word${HOME}$x', RINGMASTER_SOCKET: '/tmp/$${a}.sock', HOME: '/root' };
    const s = loadConfig({ file, env, cwd: d }).settings;
    assert.equal(s.httpPassword, 'pa$$word${HOME}$x');
    assert.equal(s.httpUsername, 'u$$er');
    assert.equal(s.socket, '/tmp/$${a}.sock');
    // A broken ${ form is text too, not an interpolation error.
    assert.equal(loadConfig({ file, env: { ...env, RINGMASTER_HTTP_PASSWORD: '${' }, cwd: d }).settings.httpPassword, '${');
  });
});

describe('#10 durations past 2^31-1 ms are refused, never armed as a 1 ms timer', () => {
  it('stopwaitsecs: 2592000, a 720h healthcheck interval and a huge backoff are problems at their lines', () => {
    const file = writeConfig([
      'settings: {shutdown_timeout: 2592000}',
      'programs:',
      '  a: {command: "sleep 1", stopwaitsecs: 2592000}',
      '  b: {command: "sleep 1", healthcheck: {exec: "true", interval: 720h}}',
      '  c: {command: "sleep 1", backoff: {initial: 1s, max: 600h}}',
      '  d: {command: "sleep 1", healthcheck: {log: ready, interval: 20000h}}',
      '  e: {command: "sleep 1", healthcheck: {log: ready, interval: 500h, retries: 3}}',
      '',
    ].join('\n'));
    const r = check(file);
    refused(r, /:3:\d+: programs.a.stopwaitsecs: 2592000 is too long/);
    assert.match(r.err, /:4:\d+: programs.b.healthcheck.interval: "720h" is too long/);
    assert.match(r.err, /:5:\d+: programs.c.backoff.max: "600h" is too long/);
    assert.match(r.err, /:6:\d+: programs.d.healthcheck.interval: "20000h" is too long/);
    // 500h alone fits; start_period + 3 x 500h (the log check's deadline timer) does not.
    assert.match(r.err, /:7:\d+: programs.e.healthcheck: start_period \+ retries x interval is \d+ms/);
    assert.match(r.err, /:1:\d+: settings.shutdown_timeout: 2592000 is too long/);
  });

  it('run refuses stopwaitsecs: 2592000 (exit 2) instead of starting a program it would SIGKILL 1 ms into every stop', async () => {
    const d = tempDir();
    const file = writeConfig(`settings: {socket: ${path.join(d, 'rm.sock')}}\nprograms:\n  a: {command: ["sh", "-c", "echo up; exec sleep 30"], startsecs: 0, stopwaitsecs: 2592000}\n`, d);
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      const first = await Promise.race([rm.exited.then(() => 'exited'), rm.waitFor(/a\s+\| up/, 30_000).then(() => 'started')]);
      assert.equal(first, 'exited', rm.stdout + rm.stderr);
      assert.equal((await rm.wait()).code, 2);
      assert.match(rm.stderr, /programs.a.stopwaitsecs: 2592000 is too long/);
    } finally {
      rm.kill();
    }
  });
});

describe('#10 in single-command mode too', () => {
  it('--grace (or RINGMASTER_GRACE) past 2^31-1 ms is a usage error, not a SIGKILL 1 ms after a forwarded TERM', () => {
    for (const [args, env] of [[['--grace', '2592000s', '--', 'true'], {}], [['--', 'true'], { RINGMASTER_GRACE: '720h' }]] as const) {
      const r = cli([...args], env);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.status} ${r.err}`);
      assert.match(r.err, /grace period "(2592000s|720h)" is too long/);
    }
  });
});

describe('#13 check expands process names exactly as run does', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['an unknown name', 'a: {command: "sleep 1", numprocs: 2, process_name: "%(nope)s_%(process_num)d"}', /programs.a.process_name: unknown name %\(nope\)/],
    ['a width of 600000000', 'a: {command: "sleep 1", process_name: "%(program_name)0600000000s"}', /programs.a.process_name: width 600000000 .* is more than 255/],
    ['numprocs 2^53', 'a: {command: "sleep 1", numprocs: 9007199254740992}', /programs.a.numprocs: expected an integer from 1 to 1000/],
    ['"../" in the name', 'a: {command: "sleep 1", process_name: "../../etc/x"}', /programs.a.process_name: expands to "..\/..\/etc\/x", which contains/],
    ['":" in the name', 'a: {command: "sleep 1", process_name: "x:y"}', /programs.a.process_name: expands to "x:y", which contains/],
    ['two programs with one name', 'a: {command: "sleep 1", process_name: "same"}\n  b: {command: "sleep 1", process_name: "same"}', /programs.b.process_name: expands to "same", the name of program "a"/],
    ['a template that does not number', 'a: {command: "sleep 1", numprocs: 2, process_name: "%(process_num)x"}', /programs.a.process_name: expands to "%\(process_num\)x", the name of another process of this program/],
  ];
  for (const [what, program, re] of cases) {
    it(`refuses ${what} (exit 2 at its line), and run refuses it too instead of crashing`, async () => {
      const d = tempDir();
      const file = writeConfig(`settings: {socket: ${path.join(d, 'rm.sock')}, logdir: ${d}}\nprograms:\n  ${program}\n`, d);
      refused(check(file), re);
      const r = cli(['run', '-c', file], {}, 60_000);
      assert.equal(r.status, 2, r.out + r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
    });
  }
});

describe('#13 in a supervisord.conf too (found by the config fuzzer)', () => {
  it('numprocs=2^53 (and numprocs_start near 2^53) is refused at its line at once, not expanded process by process', () => {
    const d = tempDir();
    const conf = path.join(d, 'supervisord.conf');
    writeFileSync(conf, '[program:x]\ncommand=sleep 1\nnumprocs=9007199254740993\n\n[program:y]\ncommand=sleep 1\nprocess_name=%(program_name)s_%(process_num)d\nnumprocs=2\nnumprocs_start=9007199254740992\n');
    for (const args of [['check', '-c', conf], ['convert', conf]]) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args[0]}: ${r.status} ${r.signal} ${r.err}`);
      assert.match(r.err, /supervisord.conf:3:\d+: programs.x.numprocs: expected an integer from 1 to 1000/);
      assert.match(r.err, /supervisord.conf:9:\d+: programs.y.numprocs_start: expected an integer from 0 to 2147483647/);
    }
  });
});

describe('#14 INI format specs that Python accepts', () => {
  it('%(process_num).200f, .101e and .150g expand as Python does; a 600000000 width is a problem at FILE:LINE:COL', () => {
    const d = tempDir();
    const conf = path.join(d, 'supervisord.conf');
    writeFileSync(conf, '[program:x]\ncommand=echo %(process_num).200f %(process_num).101e %(process_num).150g\n');
    const r = cli(['convert', conf]);
    assert.equal(r.status, 0, r.err);
    assert.ok(r.out.includes(`echo 0.${'0'.repeat(200)} 0.${'0'.repeat(101)}e+00 0`), r.out);
    writeFileSync(conf, '[program:x]\ncommand=echo %(program_name)0600000000s\n');
    for (const args of [['convert', conf], ['check', '-c', conf], ['run', '-c', conf]]) {
      const c = cli(args, { RINGMASTER_SOCKET: path.join(d, 'rm.sock') }, 60_000);
      assert.equal(c.status, 2, `${args[0]}: ${c.status} ${c.err}`);
      assert.match(c.err, new RegExp(`${conf}:2:9: .*asks for more than 4096 characters`));
      assert.doesNotMatch(c.err, /\n\s+at /);
    }
  });
});

describe('#15 config files, includes and env files are read only when regular and small', () => {
  it('env_file: /dev/zero and include: /dev/zero are problems at their lines, at once', () => {
    const file = writeConfig('include: /dev/zero\nprograms: {a: {command: "true", env_file: /dev/zero}}\n');
    const r = check(file);
    refused(r, /:1:10: include: \/dev\/zero: cannot read: not a regular file/);
    assert.match(r.err, /:2:\d+: programs.a.env_file: cannot read \/dev\/zero: not a regular file/);
    refused(check('/dev/zero'), /\/dev\/zero:1:1: cannot read: not a regular file/);
  });

  it('an env_file that is a FIFO does not hang check', () => {
    const d = tempDir();
    const fifo = path.join(d, 'env.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const file = writeConfig(`programs: {a: {command: "true", env_file: ${fifo}}}\n`, d);
    const r = check(file);
    refused(r, /programs.a.env_file: cannot read .*env.fifo: not a regular file/);
  });

  it('a config or env file over its size cap is refused without being read whole', () => {
    const d = tempDir();
    const big = path.join(d, 'big.env');
    writeFileSync(big, `A=${'x'.repeat(1024 * 1024)}\n`);
    const file = writeConfig(`programs: {a: {command: "true", env_file: ${big}}}\n`, d);
    refused(check(file), /programs.a.env_file: cannot read .*big.env: larger than 1048576 bytes/);
    const bigYaml = path.join(d, 'big.yaml');
    writeFileSync(bigYaml, `# ${'x'.repeat(4 * 1024 * 1024)}\nprograms: {a: {command: "true"}}\n`);
    refused(check(bigYaml), /big.yaml:1:1: cannot read: larger than 4194304 bytes/);
  });
});
