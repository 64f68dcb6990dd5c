// Unit tests of the config loader (SPEC §1–2) on real temp files.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { parseEnvFile } from '../src/config/envfile';
import { interpolate } from '../src/config/interpolate';
import { shellSplit } from '../src/config/shellwords';
import { parseDuration, parseSize } from '../src/config/units';
import { resolveUser } from '../src/config/users';
import { dir, problems, write } from './support/config-files';


const load = (file: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ file, env, cwd: path.dirname(file) });

describe('config sources (SPEC §1)', () => {
  it('takes -c before RINGMASTER_CONFIG before RINGMASTER_CONFIG_YAML', () => {
    const d = dir();
    const a = write(d, 'a.yaml', 'programs: {a: {command: "true"}}\n');
    const b = write(d, 'b.yaml', 'programs: {b: {command: "true"}}\n');
    const inline = 'programs: {c: {command: "true"}}';
    const names = (file: string | undefined, env: NodeJS.ProcessEnv) => loadConfig({ file, env, cwd: d }).programs.map((p) => p.name);
    assert.deepEqual(names(a, { RINGMASTER_CONFIG: b, RINGMASTER_CONFIG_YAML: inline }), ['a']);
    assert.deepEqual(names(undefined, { RINGMASTER_CONFIG: b, RINGMASTER_CONFIG_YAML: inline }), ['b']);
    const c = loadConfig({ env: { RINGMASTER_CONFIG_YAML: inline }, cwd: d });
    assert.deepEqual(c.programs.map((p) => p.name), ['c']);
    assert.deepEqual(c.files, ['<RINGMASTER_CONFIG_YAML>']);
  });

  it('falls back to ./ringmaster.yaml and says which paths it tried when none exists', () => {
    const d = dir();
    assert.match(problems(() => loadConfig({ env: {}, cwd: d }))[0], /no config found: tried .*ringmaster\.yaml/);
    write(d, 'ringmaster.yaml', 'programs: {x: {command: "true"}}\n');
    assert.equal(loadConfig({ env: {}, cwd: d }).programs[0].name, 'x');
  });

  it('reads a directory\'s *.yaml in name order and follows include: globs', () => {
    const d = dir();
    write(d, 'conf/10-base.yaml', 'settings: {exit_policy: any}\ninclude: ../extra/*.yaml\nprograms: {web: {command: "true"}}\n');
    write(d, 'conf/20-more.yaml', 'settings: {exit_policy: all}\nprograms: {worker: {command: "true"}}\n');
    write(d, 'extra/x.yaml', 'programs: {extra: {command: "true"}}\n');
    write(d, 'conf/notes.txt', 'ignored');
    const c = load(path.join(d, 'conf'));
    assert.deepEqual(c.programs.map((p) => p.name).sort(), ['extra', 'web', 'worker']);
    assert.equal(c.settings.exitPolicy, 'all', 'a later file wins for settings');
    assert.equal(c.files.length, 3);
  });

  it('the same program in two files is an error naming both places', () => {
    const d = dir();
    write(d, 'c/a.yaml', 'programs:\n  web: {command: "true"}\n');
    write(d, 'c/b.yaml', '\nprograms:\n  web: {command: "false"}\n');
    const [p] = problems(() => load(path.join(d, 'c')));
    assert.match(p, /b\.yaml:3:3: programs\.web: defined twice \(also at .*a\.yaml:2:3\)/);
  });

  it('RINGMASTER_<SETTING> overrides settings and is validated', () => {
    const d = dir();
    const f = write(d, 'r.yaml', 'settings: {exit_policy: any}\nprograms: {a: {command: "true"}}\n');
    const c = load(f, { RINGMASTER_EXIT_POLICY: 'all', RINGMASTER_SHUTDOWN_TIMEOUT: '5s', RINGMASTER_FORWARD_SIGNALS: '[HUP, USR2]' });
    assert.equal(c.settings.exitPolicy, 'all');
    assert.equal(c.settings.shutdownTimeoutMs, 5000);
    assert.deepEqual(c.settings.forwardSignals, ['SIGHUP', 'SIGUSR2']);
    assert.match(problems(() => load(f, { RINGMASTER_EXIT_POLICY: 'never' }))[0], /^env:RINGMASTER_EXIT_POLICY:1:1: settings\.exit_policy: expected critical, any or all, got "never"/);
  });
});

describe('interpolation (SPEC §2)', () => {
  const env = { A: 'a', EMPTY: '' };
  it('${VAR}, ${VAR:-default}, $$ and bare $VAR', () => {
    assert.equal(interpolate('${A}-${UNSET}-${UNSET:-d}-${EMPTY:-e}-$$-$A', env).value, 'a--d-e-$-$A');
  });
  it('${VAR:?message} fails with the message when unset or empty', () => {
    assert.match(interpolate('${EMPTY:?set EMPTY please}', env).error!, /EMPTY is required: set EMPTY please/);
    assert.equal(interpolate('${A:?x}', env).error, undefined);
  });
  it('applies to every string value and reports a failed ${VAR:?} at its place', () => {
    const d = dir();
    const f = write(d, 'i.yaml', 'programs:\n  web:\n    command: "serve ${PORT:-80}"\n    directory: ${WORKDIR:?WORKDIR must be set}\n');
    assert.deepEqual(load(f, { WORKDIR: '/srv' }).programs[0].argv, ['serve', '80']);
    assert.match(problems(() => load(f))[0], /i\.yaml:4:16: programs\.web\.directory: WORKDIR is required: WORKDIR must be set/);
  });
});

describe('units', () => {
  it('durations: numbers are seconds, and ms/s/m/h strings', () => {
    assert.equal(parseDuration(2), 2000);
    assert.equal(parseDuration(0.5), 500);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('10'), 10_000);
    assert.equal(parseDuration('ten'), null);
    assert.equal(parseDuration('5 s'), null);
  });
  it('sizes: KB/MB/GB are powers of 1024, a bare number is bytes', () => {
    assert.equal(parseSize('50MB'), 50 * 1024 * 1024);
    assert.equal(parseSize('1kb'), 1024);
    assert.equal(parseSize(100), 100);
    assert.equal(parseSize('lots'), null);
  });
});

describe('validation (SPEC §2)', () => {
  it('reports every problem with file:line:col, the expected values and a close key', () => {
    const d = dir();
    const f = write(d, 'v.yaml', [
      'programs:',
      '  web:',
      '    command: nginx',
      '    autorestart: sometimes',
      '    stopwaitsecs: soon',
      '    numprocs: 0',
      '    stopsignal: TERMINATE',
      '    prority: 5',
      '  bad name: {command: x}',
      '  empty: {}',
      'setings: {}',
      '',
    ].join('\n'));
    assert.deepEqual(problems(() => load(f)), [
      `${f}:4:18: programs.web.autorestart: expected true, false or unexpected, got "sometimes"`,
      `${f}:5:19: programs.web.stopwaitsecs: expected a duration (seconds, or like 500ms, 10s, 1m30s), got "soon"`,
      `${f}:6:15: programs.web.numprocs: expected an integer from 1 to 1000, got 0`,
      `${f}:7:17: programs.web.stopsignal: expected a signal name like TERM, INT or HUP, got "TERMINATE"`,
      `${f}:8:5: programs.web.prority: unknown key "prority", did you mean "priority"?`,
      `${f}:9:3: programs.bad name: a program name may not contain spaces, ":" or "/"`,
      `${f}:10:3: programs.empty.command: is required`,
      `${f}:11:1: setings: unknown key "setings", did you mean "settings"?`,
    ]);
  });

  it('reads log file options: paths relative to the config, sizes, AUTO, NONE', () => {
    const d = dir();
    const f = write(d, 'lf.yaml', 'settings: {logdir: /var/log/x, log_format: json, log_timestamps: true}\nprograms:\n  web: {command: x, stdout_logfile: logs/web.log, stdout_logfile_maxbytes: 1KB, stdout_logfile_backups: 2, stderr_logfile: AUTO, strip_ansi: true}\n  quiet: {command: x, stdout_logfile: NONE}\n');
    const c = load(f);
    const web = c.programs.find((p) => p.name === 'web')!;
    assert.deepEqual(web.stdoutLogfile, { path: path.join(d, 'logs/web.log'), maxBytes: 1024, backups: 2 });
    assert.deepEqual(web.stderrLogfile, { path: 'AUTO', maxBytes: 50 * 1024 * 1024, backups: 10 });
    assert.equal(web.stripAnsi, true);
    assert.equal(c.programs.find((p) => p.name === 'quiet')!.stdoutLogfile, undefined);
    assert.equal(c.settings.logFormat, 'json');
    assert.equal(c.settings.logTimestamps, true);
    assert.equal(c.settings.logdir, '/var/log/x');
    const bad = write(d, 'lb.yaml', 'programs:\n  web: {command: x, stdout_logfile_maxbytes: huge}\n');
    assert.match(problems(() => load(bad))[0], /stdout_logfile_maxbytes: expected a size like 50MB/);
  });

  it('applies defaults, aliases and the numprocs naming rule', () => {
    const d = dir();
    const f = write(d, 'd.yaml', 'programs:\n  w: {command: ["a b", c], numprocs: 2, autorestart: on-failure, exitcodes: 3, umask: "027", stopsignal: int}\n  z: {command: x, priority: 1}\n');
    const [z, w] = load(f).programs;
    assert.equal(z.name, 'z', 'sorted by priority');
    assert.deepEqual(w.argv, ['a b', 'c']);
    assert.equal(w.processName, '%(program_name)s_%(process_num)02d');
    assert.equal(w.autorestart, 'unexpected');
    assert.deepEqual(w.exitcodes, [3]);
    assert.equal(w.umask, 0o27);
    assert.equal(w.stopsignal, 'SIGINT');
    assert.equal(w.stopasgroup, true);
    assert.equal(w.killasgroup, true);
    assert.equal(w.startsecsMs, 1000);
    assert.deepEqual(w.backoff, { initialMs: 1000, maxMs: 30_000, resetMs: 60_000 });
    const bad = write(d, 'n.yaml', 'programs:\n  w: {command: x, numprocs: 2, process_name: "%(program_name)s"}\n');
    assert.match(problems(() => load(bad))[0], /process_name: must contain %\(process_num\)/);
  });

  it('groups put programs in a named group; unknown members are errors', () => {
    const d = dir();
    const f = write(d, 'g.yaml', 'programs:\n  web: {command: x}\n  worker: {command: y}\ngroups:\n  app: [web, worker]\n');
    assert.deepEqual(load(f).programs.map((p) => p.group), ['app', 'app']);
    const bad = write(d, 'g2.yaml', 'programs:\n  web: {command: x}\ngroups:\n  app: [web, wbe]\n');
    assert.match(problems(() => load(bad))[0], /g2\.yaml:4:14: groups\.app\[1\]: no program named "wbe"/);
  });

  it('env_file sits between settings.environment and the program\'s environment', () => {
    const d = dir();
    write(d, 'app.env', '# comment\nexport A=file\nB="two\\nlines"\nC=\'lit $X\'\n');
    const f = write(d, 'e.yaml', 'settings: {environment: {A: s, S: s}}\nprograms:\n  p: {command: x, env_file: app.env, environment: {C: prog}}\n');
    assert.deepEqual(load(f).programs[0].environment, { A: 'file', S: 's', B: 'two\nlines', C: 'prog' });
    const missing = write(d, 'm.yaml', 'programs:\n  p: {command: x, env_file: nope.env}\n');
    assert.match(problems(() => load(missing))[0], /m\.yaml:2:29: programs\.p\.env_file: cannot read .*nope\.env: ENOENT/);
  });
});

describe('helpers', () => {
  it('splits commands like a shell, without one', () => {
    assert.deepEqual(shellSplit(`nginx -g 'daemon off;'`).argv, ['nginx', '-g', 'daemon off;']);
    assert.deepEqual(shellSplit(`a "b \\"c\\" $HOME" d\\ e ''`).argv, ['a', 'b "c" $HOME', 'd e', '']);
    assert.equal(shellSplit(`echo "oops`).error, 'unterminated double quote');
    assert.equal(shellSplit(`echo 'oops`).error, 'unterminated single quote');
  });

  it('parses env files', () => {
    const r = parseEnvFile('A=1\nnot a line\n');
    assert.deepEqual(r.env, { A: '1' });
    assert.deepEqual(r.errors, [{ line: 2, message: 'expected KEY=VALUE, got "not a line"' }]);
  });

  it('resolves users with their supplementary groups from passwd and group', () => {
    const d = dir();
    write(d, 'passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    write(d, 'group', 'root:x:0:\napp:x:1000:\ndocker:x:999:app,other\nvideo:x:44:other\n');
    assert.deepEqual(resolveUser('app', d), { uid: 1000, gid: 1000, groups: [1000, 999], name: 'app', home: '/home/app' });
    assert.deepEqual(resolveUser('1234:55', d), { uid: 1234, gid: 55, groups: [55], name: undefined, home: undefined });
    assert.throws(() => resolveUser('nobody-here', d), /no such user "nobody-here"/);
  });
});
