// supervisord.conf read as ringmaster config (SPEC §1–2, reference §0, §0.1, §1): Supervisor's
// INI dialect, its %(...)s expansions, environment= quoting, and errors at the INI line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { parseSupervisorEnvironment } from '../src/config/ini/environment';
import { expandPercent } from '../src/config/ini/expand';
import { looksLikeIni, parseIni } from '../src/config/ini/parser';
import { formatProblem } from '../src/config/types';
import { dir, problems, write } from './support/config-files';
import { BUNDLE } from './support/ringmaster';

const load = (file: string, env: NodeJS.ProcessEnv = {}) => loadConfig({ file, env, cwd: path.dirname(file) });
const ini = (text: string, name = 'supervisord.conf') => write(dir('rm-ini-'), name, text);
const program = (file: string, name: string, env: NodeJS.ProcessEnv = {}) => {
  const p = load(file, env).programs.find((x) => x.name === name);
  assert.ok(p, `program ${name}`);
  return p;
};

describe('Supervisor INI syntax (reference §0)', () => {
  it('comments: full-line ; and #, inline only after whitespace, even inside quotes', () => {
    const f = ini('; top\n# top\n[program:a]\ncommand=echo a;b c#d ; gone\n  # a comment line inside the value is skipped\n  more\n');
    assert.deepEqual(program(f, 'a').argv, ['echo', 'a;b', 'c#d', 'more']);
    // supervisord cuts `command=sh -c "echo x ; echo y"` at " ;" too, and fails to split it.
    const g = ini('[program:b]\ncommand=sh -c "echo x ; echo y"\n');
    assert.match(problems(() => load(g)).join('\n'), /supervisord\.conf:2:9: programs\.b\.command: unterminated double quote/);
  });

  it('continuation lines, ":" as delimiter, case-insensitive option names, a repeated section adds to the first', () => {
    const f = ini('[program:a]\nCOMMAND: echo one\n  two\n\n  three\n[program:b]\ncommand=true\n[program:a]\nautostart=false\n');
    const a = program(f, 'a');
    assert.deepEqual(a.argv, ['echo', 'one', 'two', 'three']);
    assert.equal(a.autostart, false);
  });

  it('is detected by extension or by a first [section] line; YAML stays YAML', () => {
    assert.equal(looksLikeIni('/etc/supervisord.conf', 'x: 1'), true);
    assert.equal(looksLikeIni('/etc/app.ini', ''), true);
    assert.equal(looksLikeIni('/etc/supervisord', '; c\n\n[supervisord]\n'), true);
    assert.equal(looksLikeIni('/etc/ringmaster.yaml', 'programs:\n  a: {command: "true"}\n'), false);
    assert.equal(looksLikeIni('/etc/ringmaster', '- [a]\n'), false);
    const f = write(dir('rm-ini-'), 'config', '[program:web]\ncommand=true\n');
    assert.deepEqual(load(f).programs.map((p) => p.name), ['web']);
  });

  it('a line before any section or without "=" is an error at its line', () => {
    const parsed = parseIni('x=1\n[a]\njust words\n');
    assert.deepEqual(parsed.problems.map((p) => p.offset), [0, 8]);
    const f = ini('[program:a]\ncommand=true\nnot an option\n');
    assert.match(problems(() => load(f))[0], /supervisord\.conf:3:1: expected "key = value" or a \[section\] header, got "not an option"/);
  });
});

describe('%(...)s expansions (reference §0.1)', () => {
  it('Python %-formatting: widths, zero padding, %% and strings', () => {
    const names = { process_num: 7, program_name: 'w' };
    assert.equal(expandPercent('%(program_name)s_%(process_num)02d %(process_num)-3d| 100%%', names, 'x').value, 'w_07 7  | 100%');
    assert.equal(expandPercent('%(process_num)x %(program_name)5s', names, 'x').value, '7     w');
  });

  it('an unknown name, %d of a string and a stray % are errors worded like supervisord\'s', () => {
    assert.match(expandPercent('%(nope)s', {}, 'program:a.command').error!, /Format string '%\(nope\)s' for 'program:a.command' contains names \('nope'\) which cannot be expanded/);
    assert.match(expandPercent('%(program_name)d', { program_name: 'a' }, 'x').error!, /badly formatted/);
    assert.match(expandPercent('50% off', {}, 'x').error!, /badly formatted: write %% for a literal %/);
  });

  it('program_name, group_name, process_num, numprocs, host_node_name, here and ENV_ in a program', () => {
    const d = dir('rm-ini-');
    const f = write(d, 'supervisord.conf', [
      '[program:w]',
      'command=run %(program_name)s %(group_name)s %(process_num)d/%(numprocs)d %(host_node_name)s %(here)s %(ENV_TOKEN)s 100%%',
      'process_name=%(program_name)s_%(process_num)02d',
      'numprocs=2',
      '[group:g]',
      'programs=w',
    ].join('\n'));
    const c = load(f, { TOKEN: 't$x' });
    assert.deepEqual(c.programs.map((p) => p.name), ['w_00', 'w_01'], 'options that differ per process: one program per process');
    assert.deepEqual(c.programs[1].argv, ['run', 'w', 'g', '1/2', hostname(), d, 't$x', '100%']);
    assert.deepEqual(c.programs.map((p) => p.group), ['g', 'g']);
  });

  it('one program with numprocs when the options are the same for every process', () => {
    const f = ini('[program:w]\ncommand=worker\nprocess_name=%(program_name)s-%(process_num)d-%(ENV_SUFFIX)s\nnumprocs=3\nnumprocs_start=5\n');
    const w = program(f, 'w', { SUFFIX: '50%' });
    assert.equal(w.numprocs, 3);
    assert.equal(w.numprocsStart, 5);
    assert.equal(w.processName, '%(program_name)s-%(process_num)d-50%%');
  });

  it('[supervisord] environment keys become ENV_ names of later sections; a program\'s own keys of its later options', () => {
    const f = ini('[supervisord]\nenvironment=ROOT="/srv"\n[program:a]\nenvironment=BIN="%(ENV_ROOT)s/bin"\ncommand=%(ENV_BIN)s/app\ndirectory=%(ENV_ROOT)s\n');
    const a = program(f, 'a');
    assert.deepEqual(a.argv, ['/srv/bin/app']);
    assert.equal(a.directory, '/srv');
    assert.deepEqual(a.environment, { ROOT: '/srv', BIN: '/srv/bin' });
  });

  it('a $ and an ENV_ of ringmaster\'s environment inside [supervisord] environment= keep their meaning in later sections', () => {
    const f = ini('[supervisord]\nenvironment=PRICE="$5",HOMEDIR="%(ENV_HOME)s/app"\n[program:a]\ncommand=echo %(ENV_PRICE)s %(ENV_HOMEDIR)s\nenvironment=P2="%(ENV_PRICE)s"\n');
    const a = program(f, 'a', { HOME: '/home/u' });
    assert.deepEqual(a.argv, ['echo', '$5', '/home/u/app']);
    assert.deepEqual(a.environment, { PRICE: '$5', HOMEDIR: '/home/u/app', P2: '$5' });
  });

  it('an unset %(ENV_X)s is an error at its INI line; a literal $ is never interpolated', () => {
    const f = ini('[program:a]\ncommand=echo $HOME ${HOME} $$\n\n[program:b]\ncommand=echo %(ENV_MISSING)s\n');
    assert.deepEqual(program(f, 'a', { MISSING: 'x' }).argv, ['echo', '$HOME', '${HOME}', '$$']);
    assert.match(problems(() => load(f))[0], /supervisord\.conf:5:9: programs\.b\.command: MISSING is required: not set \(ENV_MISSING in program:b\.command\)/);
    assert.match(problems(() => load(ini('[program:a]\ncommand=echo %(nope)s\n'))).join('\n'), /supervisord\.conf:2:9: Format string 'echo %\(nope\)s' for 'program:a.command' contains names \('nope'\)/);
  });
});

describe('environment= quoting (reference §1.1)', () => {
  it('quotes protect commas; the quotes are stripped; tokens are KEY=VALUE separated by one token', () => {
    assert.deepEqual(parseSupervisorEnvironment('A="x,y",B=z,C=\'it s\', D = /a/b:c.d+e-f(g)').env, [['A', 'x,y'], ['B', 'z'], ['C', 'it s'], ['D', '/a/b:c.d+e-f(g)']]);
    assert.deepEqual(parseSupervisorEnvironment('A=""').env, [['A', '']]);
    assert.match(parseSupervisorEnvironment('A=1 B=2').error!, /Unexpected end of key\/value pairs/);
    assert.match(parseSupervisorEnvironment('A="x').error!, /No closing quotation/);
  });

  it('a bad environment= is an error at its line', () => {
    const f = ini('[program:a]\ncommand=true\nenvironment=A=1 B=2\n');
    assert.match(problems(() => load(f))[0], /supervisord\.conf:3:13: programs\.a\.environment: Unexpected end of key\/value pairs in value 'A=1 B=2'/);
  });
});

describe('errors and warnings (SPEC §2: FILE:LINE:COL)', () => {
  it('a bad value is reported by the same validator as YAML, at the INI line and column', () => {
    const f = ini('[program:web]\ncommand=serve\nautorestart=sometimes\nstartsecs=soon\n[program:w]\ncommand=x\nnumprocs=2\nprocess_name=w\n');
    assert.deepEqual(problems(() => load(f)).map((p) => p.slice(p.lastIndexOf('/', p.indexOf(':')) + 1)), [
      'supervisord.conf:3:13: programs.web.autorestart: expected true, false or unexpected, got "sometimes"',
      'supervisord.conf:4:11: programs.web.startsecs: expected a duration (seconds, or like 500ms, 10s, 1m30s), got "soon"',
      'supervisord.conf:8:14: programs.w.process_name: must contain %(process_num) when numprocs is more than 1',
    ]);
  });

  it('options with no meaning in a container are warnings, and the config loads', () => {
    const f = ini([
      '[unix_http_server]', 'file=/tmp/x.sock', 'chown=nobody:nogroup',
      '[supervisord]', 'logfile=/var/log/supervisord.log', 'user=root', 'nodaemon=true', 'bogus=1',
      '[supervisorctl]', 'serverurl=unix:///tmp/x.sock',
      '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '[program:a]', 'command=true', 'stdout_syslog=true', 'serverurl=http://x', 'frobnicate=1',
    ].join('\n'));
    const c = load(f);
    assert.equal(c.settings.socket, '/tmp/x.sock');
    const warnings = c.warnings!.map((w) => formatProblem({ ...w, file: path.basename(w.file) }));
    for (const [line, what] of [[3, 'chown'], [5, 'logfile'], [6, 'user'], [7, 'nodaemon'], [8, 'bogus'], [9, 'supervisorctl'], [11, 'rpcinterface'], [15, 'stdout_syslog'], [16, 'serverurl'], [17, 'frobnicate']] as const) {
      assert.ok(warnings.some((w) => w.startsWith(`supervisord.conf:${line}:`) && w.includes(what)), `warning for ${what} at line ${line} in:\n${warnings.join('\n')}`);
    }
  });

  it('[supervisord] loglevel maps to log_level (critical -> error, trace and blather -> debug); an unknown one is an error at its line', () => {
    for (const [given, want] of [['critical', 'error'], ['WARN', 'warn'], ['info', 'info'], ['blather', 'debug']] as const) {
      assert.equal(load(ini(`[supervisord]\nloglevel=${given}\n[program:a]\ncommand=true\n`)).settings.logLevel, want, given);
    }
    const bad = ini('[supervisord]\nloglevel=loud\n[program:a]\ncommand=true\n');
    assert.deepEqual(problems(() => load(bad)), [`${bad}:2:10: [supervisord] loglevel: expected one of critical, error, warn, info, debug, trace, blather, got "loud"`]);
  });

  it('killasgroup=false alone means neither (ringmaster\'s default is the whole group)', () => {
    const a = program(ini('[program:a]\ncommand=true\nkillasgroup=false\n'), 'a');
    assert.equal(a.stopasgroup, false);
    assert.equal(a.killasgroup, false);
    assert.equal(program(ini('[program:a]\ncommand=true\n'), 'a').stopasgroup, true);
  });

  it('[fcgi-program:x] maps to a program with its socket on fd 0 (SPEC §9); one without socket= and a [group:x] naming an unknown program are errors', () => {
    const php = program(ini('[fcgi-program:php]\ncommand=php-cgi\nsocket=unix:///run/php/%(program_name)s.sock\nsocket_mode=0660\nsocket_owner=nobody\nsocket_backlog=32\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)d\n'), 'php');
    assert.deepEqual(php.socket, { url: 'unix:///run/php/php.sock', kind: 'unix', path: '/run/php/php.sock', mode: 0o660, owner: { spec: 'nobody', uid: 65534, gid: 65534 }, backlog: 32, fd: 0 });
    assert.deepEqual(php.processNames, ['php_0', 'php_1']);
    const f = ini('[fcgi-program:php]\ncommand=php-cgi\n[group:g]\nprograms=nope\n');
    const all = problems(() => load(f)).join('\n');
    assert.match(all, /supervisord\.conf:1:2: programs\.php\.socket: \[fcgi-program:php\] needs a socket= line/);
    assert.match(all, /supervisord\.conf:4:10: groups\.g\[0\]: no program named "nope"/);
  });
});

describe('ringmaster convert (SPEC §1)', () => {
  it('prints YAML that loads to the same programs, with comments for what has no equivalent', () => {
    const d = dir('rm-ini-');
    const f = write(d, 'supervisord.conf', '[unix_http_server]\nfile=%(here)s/s.sock\nchown=app\n[program:web]\ncommand=serve --port %(ENV_PORT)s\nenvironment=A="x,y"\nstdout_logfile=/dev/stdout\n');
    const r = spawnSync(process.execPath, [BUNDLE, 'convert', f], { encoding: 'utf8', env: { ...process.env, PORT: '80' }, timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^#.*supervisord\.conf:3: \[unix_http_server\] chown: no meaning in a container/m);
    assert.match(r.stdout, /# stdout_logfile=\/dev\/stdout: ringmaster puts every line on its own output/);
    const yaml = write(d, 'converted.yaml', r.stdout);
    const fromYaml = load(yaml, { PORT: '80' }).programs[0];
    const fromIni = load(f, { PORT: '80' }).programs[0];
    assert.deepEqual([fromYaml.argv, fromYaml.environment], [fromIni.argv, fromIni.environment]);
    assert.deepEqual(fromYaml.argv, ['serve', '--port', '80']);
    assert.equal(load(yaml, { PORT: '80' }).settings.socket, path.join(d, 's.sock'));
  });

  it('exits 2 with the problems on stderr for a config ringmaster would refuse', () => {
    const f = ini('[program:web]\ncommand=serve\nautorestart=sometimes\n');
    const r = spawnSync(process.execPath, [BUNDLE, 'convert', f], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /supervisord\.conf:3:13: programs\.web\.autorestart: expected true, false or unexpected/);
    assert.match(r.stdout, /autorestart: sometimes/);
  });
});

describe('eventlisteners: config (SPEC §2) and [eventlistener:x]', () => {
  it('reads events, buffer_size and the program keys; listeners start first (priority -1)', () => {
    const f = write(dir('rm-ini-'), 'l.yaml', 'programs:\n  web: {command: serve}\neventlisteners:\n  alerts:\n    command: crashmail -m ops@example.com\n    events: [PROCESS_STATE_EXITED, process_state_fatal]\n    buffer_size: 3\n');
    const c = load(f);
    const alerts = c.programs.find((p) => p.name === 'alerts')!;
    assert.deepEqual(alerts.eventListener, { events: ['PROCESS_STATE_EXITED', 'PROCESS_STATE_FATAL'], bufferSize: 3 });
    assert.equal(alerts.priority, -1);
    assert.deepEqual(c.programs.map((p) => p.name), ['alerts', 'web']);
    assert.equal(c.programs.find((p) => p.name === 'web')!.eventListener, undefined);
  });

  it('an unknown event type, a missing events:, buffer_size 0 and redirect_stderr are errors at their lines', () => {
    const f = write(dir('rm-ini-'), 'l.yaml', 'eventlisteners:\n  a:\n    command: x\n    events: [PROCESS_STATE_EXITTED]\n    buffer_size: 0\n  b:\n    command: x\n  c:\n    command: x\n    events: [EVENT]\n    redirect_stderr: true\n');
    const ps = problems(() => load(f)).map((p) => p.slice(p.indexOf('l.yaml')));
    assert.deepEqual(ps, [
      'l.yaml:4:14: eventlisteners.a.events[0]: unknown event type "PROCESS_STATE_EXITTED", did you mean "PROCESS_STATE_EXITED"?',
      'l.yaml:5:18: eventlisteners.a.buffer_size: expected an integer from 1 up, got 0',
      'l.yaml:6:3: eventlisteners.b.events: is required (a list of event types, e.g. [PROCESS_STATE_EXITED, PROCESS_STATE_FATAL])',
      'l.yaml:11:22: eventlisteners.c.redirect_stderr: is not allowed for an event listener: its stdout is the protocol channel',
    ]);
  });

  it('[eventlistener:x] of a supervisord.conf maps to eventlisteners:', () => {
    const f = ini('[eventlistener:crashmail]\ncommand=crashmail -a -m ops@example.com\nevents=PROCESS_STATE_EXITED,PROCESS_STATE_FATAL\nbuffer_size=20\nresult_handler=supervisor.dispatchers:default_handler\n');
    const c = load(f);
    assert.deepEqual(c.programs[0].eventListener, { events: ['PROCESS_STATE_EXITED', 'PROCESS_STATE_FATAL'], bufferSize: 20 });
    assert.deepEqual(c.warnings, []);
    const bad = ini('[eventlistener:x]\ncommand=x\nevents=NOPE\n');
    assert.match(problems(() => load(bad))[0], /supervisord\.conf:3:8: eventlisteners\.x\.events\[0\]: unknown event type "NOPE"/);
  });
});

describe('[inet_http_server] (SPEC §6 settings.http)', () => {
  it('port, username and password become settings.http, http_username and http_password', () => {
    const c = load(ini('[inet_http_server]\nport=127.0.0.1:9001\nusername=admin\npassword={SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4\n[program:a]\ncommand=true\n'));
    assert.deepEqual(c.settings.http, { host: '127.0.0.1', port: 9001 });
    assert.equal(c.settings.httpUsername, 'admin');
    assert.deepEqual(c.warnings, []);
    const open = load(ini('[inet_http_server]\nport=*:9001\n[program:a]\ncommand=true\n'));
    assert.deepEqual(open.settings.http, { host: '', port: 9001 });
    assert.match(formatProblem(open.warnings![0]), /supervisord\.conf:1:2: settings\.http: \[inet_http_server\] has no username: ringmaster then serves only \/healthz/);
  });
});
