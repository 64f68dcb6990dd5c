// More of the config contract (SPEC §1–2), on real temp files: the finer rules of sources,
// overrides, interpolation, program keys, groups and users.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { parseEnvFile } from '../src/config/envfile';
import { interpolate } from '../src/config/interpolate';
import { shellSplit } from '../src/config/shellwords';
import type { Config } from '../src/config/types';
import { resolveUser } from '../src/config/users';
import { dir as tempConfigDir, problems, write } from './support/config-files';

const dir = () => tempConfigDir('rm-config-rules-');


/** A one-file config from lines; returns the file and a loader for it. */
function config(lines: string[], extra: { env?: NodeJS.ProcessEnv; etcDir?: string } = {}) {
  const d = dir();
  const file = write(d, 'ringmaster.yaml', lines.join('\n') + '\n');
  const load = (env: NodeJS.ProcessEnv = extra.env ?? {}): Config => loadConfig({ file, env, cwd: d, etcDir: extra.etcDir });
  return { d, file, load };
}

const program = (c: Config, name: string) => c.programs.find((p) => p.name === name)!;

describe('§1 config sources', () => {
  it('resolves a relative -c or RINGMASTER_CONFIG against cwd', () => {
    const d = dir();
    write(d, 'sub/r.yaml', 'programs: {a: {command: "true"}}\n');
    assert.deepEqual(loadConfig({ file: 'sub/r.yaml', env: {}, cwd: d }).files, [path.join(d, 'sub/r.yaml')]);
    assert.deepEqual(loadConfig({ env: { RINGMASTER_CONFIG: 'sub/r.yaml' }, cwd: d }).files, [path.join(d, 'sub/r.yaml')]);
  });

  it('a glob in the last path segment reads the matching files in name order', () => {
    const d = dir();
    write(d, 'c/b-2.yaml', 'programs: {two: {command: "true"}}\n');
    write(d, 'c/b-1.yml', 'programs: {one: {command: "true"}}\n');
    write(d, 'c/other.yaml', 'programs: {other: {command: "true"}}\n');
    const c = loadConfig({ file: path.join(d, 'c/b-?.y*'), env: {}, cwd: d });
    assert.deepEqual(c.files, [path.join(d, 'c/b-1.yml'), path.join(d, 'c/b-2.yaml')]);
    assert.deepEqual(c.programs.map((p) => p.name), ['one', 'two']);
  });

  it('include: is relative to the including file, may be a list, and is interpolated', () => {
    const d = dir();
    write(d, 'etc/main.yaml', 'include: [parts, "${EXTRA:-extra}.yaml"]\nprograms: {main: {command: "true"}}\n');
    write(d, 'etc/parts/a.yaml', 'programs: {a: {command: "true"}}\n');
    write(d, 'etc/extra.yaml', 'programs: {extra: {command: "true"}}\n');
    write(d, 'etc/more.yaml', 'programs: {more: {command: "true"}}\n');
    const c = loadConfig({ file: path.join(d, 'etc/main.yaml'), env: {}, cwd: '/' });
    assert.deepEqual(c.files, ['main.yaml', 'parts/a.yaml', 'extra.yaml'].map((f) => path.join(d, 'etc', f)));
    const m = loadConfig({ file: path.join(d, 'etc/main.yaml'), env: { EXTRA: 'more' }, cwd: '/' });
    assert.ok(m.programs.some((p) => p.name === 'more'));
  });

  it('an include that matches nothing is reported at the include entry', () => {
    const { file, load } = config(['include:', '  - nowhere/*.yaml', 'programs: {a: {command: "true"}}']);
    assert.match(problems(() => load())[0], new RegExp(`^${file}:2:5: include: no config file matches .*nowhere/\\*\\.yaml$`));
  });

  it('a file included twice (or a cycle) is read once', () => {
    const d = dir();
    write(d, 'a.yaml', 'include: b.yaml\nprograms: {a: {command: "true"}}\n');
    write(d, 'b.yaml', 'include: a.yaml\nprograms: {b: {command: "true"}}\n');
    assert.deepEqual(loadConfig({ file: path.join(d, 'a.yaml'), env: {}, cwd: d }).programs.map((p) => p.name), ['a', 'b']);
  });

  it('the inline RINGMASTER_CONFIG_YAML reports problems as <RINGMASTER_CONFIG_YAML>:LINE:COL', () => {
    const yaml = 'programs:\n  web:\n    command: x\n    autorestart: sometimes\n';
    assert.deepEqual(problems(() => loadConfig({ env: { RINGMASTER_CONFIG_YAML: yaml }, cwd: dir() })), [
      '<RINGMASTER_CONFIG_YAML>:4:18: programs.web.autorestart: expected true, false or unexpected, got "sometimes"',
    ]);
  });

  it('problems from several files come sorted by file, line and column', () => {
    const d = dir();
    write(d, 'c/b.yaml', 'programs:\n  b: {command: x, priority: high}\n');
    write(d, 'c/a.yaml', 'programs:\n  a: {command: x, startretries: -1}\n  a2: {comand: x}\n');
    const ps = problems(() => loadConfig({ file: path.join(d, 'c'), env: {}, cwd: d }));
    assert.deepEqual(ps.map((p) => p.replace(d + '/', '')), [
      'c/a.yaml:2:33: programs.a.startretries: expected an integer from 0 up, got -1',
      'c/a.yaml:3:3: programs.a2.command: is required',
      'c/a.yaml:3:8: programs.a2.comand: unknown key "comand", did you mean "command"?',
      'c/b.yaml:2:29: programs.b.priority: expected an integer, got "high"',
    ]);
  });
});

describe('§1 RINGMASTER_<SETTING> overrides', () => {
  it('override file settings, including log_color and socket', () => {
    const { load } = config(['settings: {log_color: never, socket: /a.sock}', 'programs: {a: {command: x}}']);
    const c = load({ RINGMASTER_LOG_COLOR: 'always', RINGMASTER_SOCKET: '/tmp/rm.sock', RINGMASTER_SIGNAL_REWRITE: '{TERM: QUIT}' });
    assert.equal(c.settings.logColor, 'always');
    assert.equal(c.settings.socket, '/tmp/rm.sock');
    assert.deepEqual(c.settings.signalRewrite, { SIGTERM: 'SIGQUIT' });
  });

  it('settings.http, http_username and http_password: forms, pairing and the {SHA} form', () => {
    const { load } = config(['programs: {a: {command: x}}']);
    const s = load({ RINGMASTER_HTTP: '127.0.0.1:9001', RINGMASTER_HTTP_USERNAME: 'admin', RINGMASTER_HTTP_PASSWORD: 'secret' }).settings;
    assert.deepEqual(s.http, { host: '127.0.0.1', port: 9001 });
    assert.equal(s.httpUsername, 'admin');
    assert.equal(s.httpPassword, 'secret');
    assert.deepEqual(load({ RINGMASTER_HTTP: ':9001' }).settings.http, { host: '', port: 9001 });
    assert.deepEqual(load({ RINGMASTER_HTTP: '*:9001' }).settings.http, { host: '', port: 9001 });
    assert.deepEqual(load({ RINGMASTER_HTTP: '[::1]:9001' }).settings.http, { host: '::1', port: 9001 });
    assert.deepEqual(load({ RINGMASTER_HTTP: '9001' }).settings.http, { host: '', port: 9001 });
    assert.deepEqual(problems(() => load({ RINGMASTER_HTTP: 'localhost:99999' })), [
      'env:RINGMASTER_HTTP:1:1: settings.http: expected HOST:PORT like 127.0.0.1:9001 (port 1-65535), got "localhost:99999"',
    ]);
    assert.deepEqual(problems(() => load({ RINGMASTER_HTTP_PASSWORD: 'x' })), [
      'env:RINGMASTER_HTTP_USERNAME:1:1: settings.http_username: http_username and http_password go together: http_username is missing',
    ]);
    assert.deepEqual(problems(() => load({ RINGMASTER_HTTP_USERNAME: 'a', RINGMASTER_HTTP_PASSWORD: '{SHA}abc' })), [
      'env:RINGMASTER_HTTP_PASSWORD:1:1: settings.http_password: a {SHA} password is {SHA} followed by the 40 hex digits of the SHA-1 of the password',
    ]);
    const inFile = config(['settings: {http: "127.0.0.1:9001", http_username: admin}', 'programs: {a: {command: x}}']);
    assert.deepEqual(problems(() => inFile.load()), [
      `${inFile.file}:1:36: settings.http_password: http_username and http_password go together: http_password is missing`,
    ]);
  });

  it('a value that is not YAML, or is wrong, is reported at env:VAR:1:1', () => {
    const { load } = config(['programs: {a: {command: x}}']);
    const ps = problems(() => load({ RINGMASTER_FORWARD_SIGNALS: '[USR1, ', RINGMASTER_SHUTDOWN_TIMEOUT: '  soon' }));
    assert.equal(ps.length, 2);
    assert.match(ps[0], /^env:RINGMASTER_FORWARD_SIGNALS:1:1: settings\.forward_signals: /);
    assert.equal(ps[1], 'env:RINGMASTER_SHUTDOWN_TIMEOUT:1:1: settings.shutdown_timeout: expected a duration (seconds, or like 500ms, 10s, 1m30s), got "soon"');
  });
});

describe('§2 interpolation', () => {
  it('${VAR:-default} covers unset and empty, ${VAR-default} only unset', () => {
    const env = { EMPTY: '' };
    assert.equal(interpolate('${EMPTY:-d}|${EMPTY-d}|${UNSET-d}', env).value, 'd||d');
  });

  it('$$ escapes a literal ${…}, and a bare $VAR reaches the program untouched', () => {
    const { load } = config(['programs:', '  p:', '    command: sh -c \'echo $HOME $${HOME}\'', '    environment: {A: "$$1"}']);
    const p = program(load({ HOME: '/root' }), 'p');
    assert.deepEqual(p.argv, ['sh', '-c', 'echo $HOME ${HOME}']);
    assert.equal(p.environment.A, '$1');
  });

  it('keys are not interpolated, values in lists and maps are', () => {
    const { load } = config(['programs:', '  p:', '    command: [echo, "${WORD}"]', '    environment: {"${K}": "${V}"}']);
    const p = program(load({ WORD: 'hi', K: 'key', V: 'value' }), 'p');
    assert.deepEqual(p.argv, ['echo', 'hi']);
    assert.deepEqual(p.environment, { '${K}': 'value' });
  });

  it('an unset ${VAR} becomes empty, as in docker compose', () => {
    const { load } = config(['programs: {p: {command: "run ${NOPE}x"}}']);
    assert.deepEqual(program(load(), 'p').argv, ['run', 'x']);
  });

  it('${VAR:?message} fails at the value with the key and the message; unset without message says so', () => {
    const { file, load } = config(['settings:', '  socket: ${SOCK:?}', 'programs:', '  p: {command: x, user: "${RUN_AS:?who runs p}"}']);
    assert.deepEqual(problems(() => load({})), [
      `${file}:2:11: settings.socket: SOCK is required: not set`,
      `${file}:4:25: programs.p.user: RUN_AS is required: who runs p`,
    ]);
  });

  it('a ${ that is none of the known forms is an error, not kept as text', () => {
    const { file, load } = config(['programs: {p: {command: "serve ${PORT:=80}"}}']);
    assert.deepEqual(problems(() => load()), [
      `${file}:1:25: programs.p.command: invalid interpolation "\${PORT:=80}": expected \${VAR}, \${VAR:-default} or \${VAR:?message} (write $$ for a literal $)`,
    ]);
    assert.match(interpolate('a ${UNCLOSED', {}).error!, /invalid interpolation "\$\{UNCLOSED"/);
  });
});

describe('§2 units in program keys', () => {
  it('durations: numbers are (fractional) seconds, strings carry units', () => {
    const { load } = config(['programs:', '  p: {command: x, startsecs: 0.5, stopwaitsecs: 1m30s, backoff: {initial: 500ms, max: 1h, reset: 2}}']);
    const p = program(load(), 'p');
    assert.equal(p.startsecsMs, 500);
    assert.equal(p.stopwaitsecsMs, 90_000);
    assert.deepEqual(p.backoff, { initialMs: 500, maxMs: 3_600_000, resetMs: 2000 });
  });

  it('backoff.max below backoff.initial is reported at max', () => {
    const { file, load } = config(['programs:', '  p:', '    command: x', '    backoff: {initial: 10s, max: 2s, rest: 1s}']);
    assert.deepEqual(problems(() => load()), [
      `${file}:4:34: programs.p.backoff.max: must not be less than backoff.initial (2000ms < 10000ms)`,
      `${file}:4:38: programs.p.backoff.rest: unknown key "rest", did you mean "reset"?`,
    ]);
  });
});

describe('§2 program keys', () => {
  it('applies the documented defaults', () => {
    const { load } = config(['programs: {p: {command: x}}']);
    const p = program(load(), 'p');
    assert.deepEqual(
      { ...p, source: undefined },
      {
        name: 'p', argv: ['x'], commandText: 'x', shell: false, directory: undefined, environment: {}, user: undefined,
        umask: undefined, autostart: true, autorestart: 'unexpected', exitcodes: [0], startsecsMs: 1000, startretries: 3,
        backoff: { initialMs: 1000, maxMs: 30_000, resetMs: 60_000 }, stopsignal: 'SIGTERM', stopwaitsecsMs: 10_000,
        stopasgroup: true, killasgroup: true, priority: 999, numprocs: 1, numprocsStart: 0, processName: '%(program_name)s', processNames: ['p'],
        redirectStderr: false, disabled: false, critical: false, stdoutLogfile: undefined, stderrLogfile: undefined,
        stripAnsi: false, stdoutEvents: false, stderrEvents: false, stdoutCaptureMaxBytes: 0, stderrCaptureMaxBytes: 0, eventListener: undefined,
        group: 'p', dependsOn: [], healthcheck: undefined, stage: 'main', hooks: {}, hookTimeoutMs: 30_000, memoryLimit: undefined, ready: undefined, source: undefined,
      },
    );
    assert.equal(p.source.line, 1);
    assert.equal(p.source.col, 12);
  });

  it('autorestart takes YAML booleans and the always/never/on-failure aliases', () => {
    const { load } = config(['programs:', '  a: {command: x, autorestart: always}', '  b: {command: x, autorestart: false}', '  c: {command: x, autorestart: never}', '  d: {command: x, autorestart: true}']);
    assert.deepEqual(load().programs.map((p) => p.autorestart), [true, false, false, true]);
  });

  it('exitcodes are 0–255, one or a list', () => {
    const { file, load } = config(['programs:', '  a: {command: x, exitcodes: [0, 2]}', '  b: {command: x, exitcodes: [0, 256]}']);
    assert.deepEqual(problems(() => load()), [`${file}:3:34: programs.b.exitcodes[1]: expected an integer from 0 to 255, got 256`]);
  });

  it('stopsignal accepts TERM, SIGTERM, term and 15, normalised to SIGTERM', () => {
    const { load } = config(['programs:', ...['TERM', 'SIGTERM', 'term', '15'].map((s, i) => `  p${i}: {command: x, stopsignal: ${s}}`)]);
    assert.deepEqual(load().programs.map((p) => p.stopsignal), ['SIGTERM', 'SIGTERM', 'SIGTERM', 'SIGTERM']);
  });

  it('umask reads its digits as octal whether quoted or a YAML number', () => {
    const { file, load } = config(['programs:', '  a: {command: x, umask: "022"}', '  b: {command: x, umask: 027}', '  c: {command: x, umask: 0o77}', '  d: {command: x, umask: "8"}']);
    assert.deepEqual(problems(() => load()), [`${file}:5:26: programs.d.umask: expected an octal umask like "022", got "8"`]);
    const ok = config(['programs:', '  a: {command: x, umask: "022"}', '  b: {command: x, umask: 027}', '  c: {command: x, umask: 0o77}']);
    assert.deepEqual(ok.load().programs.map((p) => p.umask), [0o22, 0o27, 0o77]);
  });

  it('killasgroup follows stopasgroup, and may not be false while stopasgroup is true', () => {
    const { file, load } = config(['programs:', '  a: {command: x, stopasgroup: false}', '  b: {command: x, killasgroup: false}']);
    assert.deepEqual(problems(() => load()), [`${file}:3:32: programs.b.killasgroup: cannot be false when stopasgroup is true (as in Supervisor)`]);
    const ok = config(['programs: {a: {command: x, stopasgroup: false}}']);
    assert.deepEqual([program(ok.load(), 'a').stopasgroup, program(ok.load(), 'a').killasgroup], [false, false]);
  });

  it('numprocs > 1 numbers process names by default and requires %(process_num) when one is given', () => {
    const { load } = config(['programs:', '  w: {command: x, numprocs: 3, numprocs_start: 1}', '  one: {command: x, process_name: "%(program_name)s-main"}']);
    const c = load();
    assert.equal(program(c, 'w').processName, '%(program_name)s_%(process_num)02d');
    assert.equal(program(c, 'w').numprocsStart, 1);
    assert.equal(program(c, 'one').processName, '%(program_name)s-main');
    const bad = config(['programs:', '  w:', '    command: x', '    numprocs: 2', '    process_name: web']);
    assert.deepEqual(problems(() => bad.load()), [`${bad.file}:5:19: programs.w.process_name: must contain %(process_num) when numprocs is more than 1`]);
  });

  it('shell: true runs the text (or the joined list) with /bin/sh -c', () => {
    const { load } = config(['programs:', '  a: {command: "echo $HOME | wc -c", shell: true}', '  b: {command: [echo, "a b"], shell: true}']);
    const c = load();
    assert.deepEqual(program(c, 'a').argv, ['/bin/sh', '-c', 'echo $HOME | wc -c']);
    assert.deepEqual(program(c, 'b').argv, ['/bin/sh', '-c', 'echo a b']);
  });

  it('a command that is empty or has an unterminated quote is reported at the command', () => {
    const { file, load } = config(['programs:', '  a: {command: "  "}', '  b: {command: []}', '  c: {command: \'echo "hi\'}', '  d: {command: {run: x}}']);
    assert.deepEqual(problems(() => load()), [
      `${file}:2:16: programs.a.command: is empty`,
      `${file}:3:16: programs.b.command: is empty`,
      `${file}:4:16: programs.c.command: unterminated double quote`,
      `${file}:5:16: programs.d.command: expected a string, got a map`,
    ]);
  });

  it('environment values that are numbers or booleans become strings', () => {
    const { load } = config(['programs: {p: {command: x, environment: {PORT: 8080, DEBUG: true, EMPTY: }}}']);
    assert.deepEqual(program(load(), 'p').environment, { PORT: '8080', DEBUG: 'true', EMPTY: '' });
  });

  it('names may not hold a space, ":" or "/"', () => {
    const { file, load } = config(['programs:', '  "a:b": {command: x}', '  a/b: {command: x}']);
    assert.deepEqual(problems(() => load()), [
      `${file}:2:3: programs.a:b: a program name may not contain spaces, ":" or "/"`,
      `${file}:3:3: programs.a/b: a program name may not contain spaces, ":" or "/"`,
    ]);
  });

  it('programs come sorted by priority, then name', () => {
    const { load } = config(['programs:', '  c: {command: x, priority: 1}', '  b: {command: x}', '  a: {command: x}', '  d: {command: x, priority: 1}']);
    assert.deepEqual(load().programs.map((p) => p.name), ['c', 'd', 'a', 'b']);
  });

  it('an unknown key far from every known one gets no suggestion', () => {
    const { file, load } = config(['programs: {p: {command: x, zzzzzz: 1}}']);
    assert.deepEqual(problems(() => load()), [`${file}:1:28: programs.p.zzzzzz: unknown key "zzzzzz"`]);
  });

});

describe('§2 settings', () => {
  it('forward_signals and signal_rewrite are normalised to SIG names; a bad name is reported at itself', () => {
    const { load } = config(['settings: {forward_signals: [usr1, SIGHUP, 28], signal_rewrite: {TERM: quit}}', 'programs: {p: {command: x}}']);
    const s = load().settings;
    assert.deepEqual(s.forwardSignals, ['SIGUSR1', 'SIGHUP', 'SIGWINCH']);
    assert.deepEqual(s.signalRewrite, { SIGTERM: 'SIGQUIT' });
    const bad = config(['settings:', '  forward_signals: [USR1, NOPE]', 'programs: {p: {command: x}}']);
    assert.deepEqual(problems(() => bad.load()), [`${bad.file}:2:27: settings.forward_signals[1]: expected a signal name like TERM, INT or HUP, got "NOPE"`]);
  });

  it('log_color is auto, always or never', () => {
    const { file, load } = config(['settings: {log_color: sometimes}', 'programs: {p: {command: x}}']);
    assert.deepEqual(problems(() => load()), [`${file}:1:23: settings.log_color: expected auto, always or never, got "sometimes"`]);
  });
});

describe('§2 groups', () => {
  it('a group named in two files gets the members of both', () => {
    const d = dir();
    write(d, 'c/a.yaml', 'programs: {web: {command: x}}\ngroups: {app: [web]}\n');
    write(d, 'c/b.yaml', 'programs: {worker: {command: x}, solo: {command: x}}\ngroups: {app: [worker]}\n');
    const c = loadConfig({ file: path.join(d, 'c'), env: {}, cwd: d });
    assert.deepEqual(c.groups.map((g) => [g.name, g.programs]), [['app', ['web', 'worker']]]);
    assert.deepEqual(c.programs.map((p) => [p.name, p.group]), [['solo', 'solo'], ['web', 'app'], ['worker', 'app']]);
  });

  it('a program in two groups is an error at the second listing', () => {
    const { file, load } = config(['programs: {web: {command: x}}', 'groups:', '  a: [web]', '  b: [web]']);
    assert.deepEqual(problems(() => load()), [`${file}:4:7: groups.b[0]: program "web" is already in group "a"`]);
  });
});

describe('§2 env_file', () => {
  it('is read relative to the config file, below the program environment', () => {
    const { d, load } = config(['programs: {p: {command: x, env_file: env/app.env, environment: {B: prog}}}']);
    write(d, 'env/app.env', 'A="quoted # not a comment" # a comment\nB=file\nC=plain # trailing\n');
    assert.deepEqual(program(load(), 'p').environment, { A: 'quoted # not a comment', B: 'prog', C: 'plain' });
  });

  it('a bad line is reported in the env file with its line number', () => {
    const { d, load } = config(['programs: {p: {command: x, env_file: app.env}}']);
    const envFile = write(d, 'app.env', 'A=1\n\nB="open\n');
    assert.deepEqual(problems(() => load()), [`${envFile}:3:1: programs.p.env_file: B: unterminated double quote`]);
  });

  it('parses single quotes literally and double quotes with escapes', () => {
    assert.deepEqual(parseEnvFile(`S='a\\nb $X'\nD="a\\tb \\"q\\" \\\\"\nexport E=1\n`).env, { S: 'a\\nb $X', D: 'a\tb "q" \\', E: '1' });
  });
});

describe('shellwords', () => {
  it('keeps backslashes before ordinary characters inside double quotes and joins continued lines', () => {
    assert.deepEqual(shellSplit('printf "a\\tb" "c\\\nd"').argv, ['printf', 'a\\tb', 'cd']);
  });
  it('does no globbing and no variable expansion', () => {
    assert.deepEqual(shellSplit('ls *.txt $HOME ~').argv, ['ls', '*.txt', '$HOME', '~']);
  });
});

describe('users', () => {
  function etc(): string {
    const d = dir();
    write(d, 'passwd', '# comment\nroot:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    write(d, 'group', 'root:x:0:\napp:x:1000:\ndocker:x:999:other,app\nadm:x:4:app\nagain:x:1000:app\n');
    return d;
  }

  it('a uid with a passwd entry gets its name, home and groups; groups are deduplicated', () => {
    assert.deepEqual(resolveUser('1000', etc()), { uid: 1000, gid: 1000, groups: [1000, 999, 4], name: 'app', home: '/home/app' });
  });

  it('uid:gid takes the group by number or by name', () => {
    const d = etc();
    assert.equal(resolveUser('app:docker', d).gid, 999);
    assert.deepEqual(resolveUser('5000', d), { uid: 5000, gid: 5000, groups: [5000], name: undefined, home: undefined });
    assert.throws(() => resolveUser('app:nogroup', d), /no such group "nogroup"/);
  });

  it('a user name not in passwd is a config error at load time', () => {
    const d = etc();
    const { file, load } = config(['programs:', '  web: {command: x, user: bob}', '  ok: {command: x, user: app}', '  num: {command: x, user: "1234:55"}'], { etcDir: d });
    assert.deepEqual(problems(() => load()), [`${file}:2:27: programs.web.user: no such user "bob"`]);
  });
});
