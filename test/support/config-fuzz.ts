// Seeded generators of hostile configs for test/config-fuzz.test.ts and bench/fuzz/run.mjs:
// mutated YAML configs and supervisord.conf files built from valid seeds, with the values a typo,
// an unset variable or an attacker would put there. Input i depends only on (seed, i).

export type Rng = () => number;
export function mulberry32(a: number): Rng {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const rngFor = (seed: number, i: number): Rng => mulberry32((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];
const chance = (r: Rng, p: number) => r() < p;

/** Values that broke or nearly broke something once, or are at an edge of a type. */
const NASTY_SCALARS = [
  '0', '-1', '1', '2147483647', '2147483648', '2592000', '9007199254740993', '1e400', '-0', '0x10', '0o17', '.5', 'NaN', '.inf', '-.inf',
  '""', "''", 'null', '~', 'true', 'false', 'yes', 'no', 'on', 'off',
  '720h', '20000h', '1ms', '0ms', '1m30s', '1.5s', '99999999999999999999s', '50MB', '1GB', '999999999GB', '-5MB',
  '"${NOPE}"', '"${HOME}"', '"${X:-d}"', '"${X:?required}"', '"${"', '"$$"', '"$$$$"', '"${X:=y}"', '"$NOT_MINE"', '"${file:/etc/hostname}"', '"* * * * * *"', '"@every 1s"', '"@reboot"', '"0 0 31 2 *"', '"@every 0s"',
  '"%(program_name)s"', '"%(process_num)02d"', '"%(nope)s"', '"%(program_name)0600000000s"', '"%(process_num).200f"', '"%"', '"%%"', '"%(process_num)x"',
  '"../../../etc/passwd"', '"a:b"', '"a/b"', '" "', '"x y"', '"\\u0000"', '"\\t"', '"ünïcødé"', '"😀"',
  '/dev/zero', '/dev/null', '/proc/self/environ', '/etc/shadow', '/', '.',
  'TERM', 'KILL', 'SIGKILL', 'NOPE', '99', 'sigterm',
  'unexpected', 'always', 'never', 'on-failure', 'sometimes',
  '[]', '{}', '[1, 2]', '{a: b}', '[[[[[[[[[[]]]]]]]]]]', '*anchor', '!!binary aGVsbG8=', '!!str 1', '!!int "x"', '!!float 1', '!nope x',
  '"' + 'x'.repeat(5000) + '"', 'x'.repeat(300),
];
const PROGRAM_KEYS = [
  'command', 'shell', 'directory', 'environment', 'user', 'umask', 'autostart', 'autorestart', 'exitcodes', 'startsecs', 'startretries',
  'backoff', 'stopsignal', 'stopwaitsecs', 'stopasgroup', 'killasgroup', 'priority', 'numprocs', 'numprocs_start', 'process_name',
  'redirect_stderr', 'env_file', 'disabled', 'critical', 'strip_ansi', 'depends_on', 'healthcheck', 'stdout_logfile',
  'stdout_logfile_maxbytes', 'stdout_logfile_backups', 'stderr_logfile', 'stdout_capture_maxbytes', 'stdout_events_enabled', 'nosuchkey',
  'schedule', 'schedule_timezone', 'overlap', 'watch',
];
const SETTINGS_KEYS = [
  'exit_policy', 'shutdown_timeout', 'log_format', 'log_timestamps', 'log_color', 'socket', 'http', 'http_username', 'http_password',
  'forward_signals', 'signal_rewrite', 'logdir', 'environment', 'nosuchsetting', 'watch_config',
];

const YAML_SEEDS = [
  `settings:
  exit_policy: critical
  shutdown_timeout: 30s
  socket: /run/ringmaster-fuzz.sock
programs:
  web:
    command: nginx -g 'daemon off;'
    priority: 20
    critical: true
    healthcheck: {http: "http://127.0.0.1:8080/health", interval: 5s}
  worker:
    command: ["node", "worker.js"]
    numprocs: 2
    environment: {QUEUE: "\${QUEUE:-default}"}
    depends_on: {db: {condition: healthy}}
  db:
    command: postgres
    healthcheck: {exec: pg_isready -q, retries: 3}
groups:
  app: [web, worker]
`,
  `programs:
  migrate: {command: "./migrate.sh", startsecs: 0, autorestart: false}
  app:
    command: ./server
    depends_on: [migrate]
    process_name: "%(program_name)s_%(process_num)02d"
    numprocs: 3
    stdout_logfile: AUTO
    backoff: {initial: 1s, max: 30s, reset: 60s}
    healthcheck: {log: "ready to accept", start_period: 10s}
eventlisteners:
  alerts:
    command: /usr/local/bin/crashmail
    events: [PROCESS_STATE_EXITED, PROCESS_STATE_FATAL]
    buffer_size: 10
`,
  `settings: {http: "127.0.0.1:9001", http_username: admin, http_password: "{SHA}0123456789abcdef0123456789abcdef01234567", forward_signals: [USR1, WINCH], signal_rewrite: {TERM: QUIT}}
include: []
programs:
  a: {command: "sleep 1", stopsignal: INT, stopwaitsecs: 10, exitcodes: [0, 2], umask: "022", user: "0:0"}
  b: {command: "sleep 2", disabled: true, env_file: .env}
`,
];

/** Mutate a line-oriented YAML seed: replace values, keys, indentation; insert nasty entries. */
export function mutateYaml(r: Rng): string {
  const lines = pick(r, YAML_SEEDS).split('\n');
  const rounds = 1 + int(r, 4);
  for (let k = 0; k < rounds; k++) {
    const i = int(r, lines.length);
    const line = lines[i];
    const m = /^(\s*)([\w-]+):(\s*)(.*)$/.exec(line);
    switch (int(r, 9)) {
      case 0: // a nasty value for an existing key
        if (m) lines[i] = `${m[1]}${m[2]}: ${pick(r, NASTY_SCALARS)}`;
        break;
      case 1: // a program key with a nasty value under a program
        lines.splice(i + 1, 0, `    ${pick(r, PROGRAM_KEYS)}: ${pick(r, NASTY_SCALARS)}`);
        break;
      case 2: // a settings key
        lines.unshift(`settings: {${pick(r, SETTINGS_KEYS)}: ${pick(r, NASTY_SCALARS)}}`);
        break;
      case 3: // drop or duplicate a line
        if (chance(r, 0.5)) lines.splice(i, 1);
        else lines.splice(i, 0, line);
        break;
      case 4: // break the indentation
        lines[i] = ' '.repeat(int(r, 7)) + line.trimStart();
        break;
      case 5: // a flow program with several nasty keys
        lines.push(`  p${int(r, 5)}: {command: ${pick(r, ['"sleep 1"', '[]', '""', pick(r, NASTY_SCALARS)])}, ${pick(r, PROGRAM_KEYS)}: ${pick(r, NASTY_SCALARS)}, ${pick(r, PROGRAM_KEYS)}: ${pick(r, NASTY_SCALARS)}}`);
        break;
      case 6: // anchors and aliases, including an alias bomb
        lines.push('x1: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]', 'x2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'x3: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', `${pick(r, ['programs', 'settings', 'groups'])}: *c`);
        break;
      case 7: // random bytes in a line
        lines[i] = line.slice(0, int(r, line.length + 1)) + pick(r, ['\0', '\t', '"', "'", '{', '[', '&', '*', '!', '%', '@', '`', '|', '>', '#', '\\', ':', '- ']) + line.slice(int(r, line.length + 1));
        break;
      default: // deep nesting
        lines.push(`deep: ${'['.repeat(int(r, 200))}${']'.repeat(int(r, 200))}`);
    }
  }
  return lines.join('\n');
}

const INI_SEEDS = [
  `[supervisord]
nodaemon=true
childlogdir=/var/log/sv

[inet_http_server]
port=127.0.0.1:9001
username=admin
password=secret

[program:web]
command=/usr/bin/web --port=80%(process_num)02d
process_name=%(program_name)s_%(process_num)02d
numprocs=2
autorestart=unexpected
environment=A="x,y",B=z
stdout_logfile=/var/log/%(program_name)s.log
priority=10

[program:worker]
command=python worker.py %(ENV_HOME)s
directory=%(here)s
stopsignal=INT
stopwaitsecs=10
startsecs=0

[group:app]
programs=web,worker

[eventlistener:mail]
command=crashmail -a
events=PROCESS_STATE_EXITED,TICK_60
buffer_size=10
`,
  `[unix_http_server]
file=/run/supervisor-fuzz.sock

[program:cron]
command=cron -f
autostart=true
redirect_stderr=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
killasgroup=false
`,
];
const INI_KEYS = ['command', 'process_name', 'numprocs', 'numprocs_start', 'priority', 'autostart', 'autorestart', 'startsecs', 'startretries', 'exitcodes',
  'stopsignal', 'stopwaitsecs', 'stopasgroup', 'killasgroup', 'user', 'redirect_stderr', 'environment', 'directory', 'umask', 'stdout_logfile',
  'stdout_logfile_maxbytes', 'stderr_logfile_backups', 'serverurl', 'events', 'buffer_size', 'programs', 'files', 'port', 'username', 'password', 'nosuch'];
const INI_VALUES = [
  '', '0', '-1', '2147483648', '9007199254740993', 'true', 'false', 'unexpected', '%(process_num).200f', '%(process_num).101e', '%(process_num).150g',
  '%(program_name)0600000000s', '%(program_name)s', '%(nope)s', '%(ENV_NOPE)s', '%(ENV_HOME)s', '%(here)s', '%(host_node_name)s', '%', '%%', '%(', '%()s', '%(process_num)d%(process_num)d',
  '%(process_num)99999d', '%(process_num)-5s', '%(process_num)+d', '%(numprocs)r',
  'A="x,y",B=z', 'A="unterminated', '=x', 'A', 'A=1,,B=2', '$HOME', '${HOME}', '$$', '../../etc', 'a:b', '/dev/zero', '/dev/stdout', 'AUTO', 'NONE',
  'TERM', 'NOPE', '022', '999', '50MB', '1GB', 'x'.repeat(3000), 'ünïcødé', '"quoted"', "'single'", 'a ; comment', 'a # comment', '\\',
  'conf.d/*.conf', '/nonexistent/*.conf', '*', '[abc', 'web,worker', 'web,,', 'PROCESS_STATE', 'NOPE_EVENT',
];
const INI_SECTIONS = ['[program:x]', '[program:x y]', '[program:../a]', '[program:]', '[group:g]', '[eventlistener:e]', '[fcgi-program:f]', '[include]',
  '[supervisord]', '[inet_http_server]', '[unix_http_server]', '[supervisorctl]', '[rpcinterface:supervisor]', '[nosuch]', '[program:web]', '['];

export function mutateIni(r: Rng): string {
  const lines = pick(r, INI_SEEDS).split('\n');
  const rounds = 1 + int(r, 4);
  for (let k = 0; k < rounds; k++) {
    const i = int(r, lines.length);
    const line = lines[i];
    const m = /^([\w.-]+)\s*=\s*(.*)$/.exec(line);
    switch (int(r, 7)) {
      case 0:
        if (m) lines[i] = `${m[1]}=${pick(r, INI_VALUES)}`;
        break;
      case 1:
        lines.splice(i + 1, 0, `${pick(r, INI_KEYS)}=${pick(r, INI_VALUES)}`);
        break;
      case 2:
        lines.push(pick(r, INI_SECTIONS), `${pick(r, INI_KEYS)}=${pick(r, INI_VALUES)}`, `${pick(r, INI_KEYS)}=${pick(r, INI_VALUES)}`);
        break;
      case 3:
        if (chance(r, 0.5)) lines.splice(i, 1);
        else lines.splice(i, 0, line);
        break;
      case 4: // a continuation line or odd indentation
        lines.splice(i + 1, 0, `${' '.repeat(1 + int(r, 4))}${pick(r, INI_VALUES)}`);
        break;
      case 5:
        lines[i] = line.slice(0, int(r, line.length + 1)) + pick(r, ['\0', '%', '=', ':', ';', '#', '[', ']', '"', '\\', '\t']) + line.slice(int(r, line.length + 1));
        break;
      default:
        lines.push('[program:p' + int(r, 3) + ']', `command=${pick(r, ['sleep 1', '', pick(r, INI_VALUES)])}`, `${pick(r, INI_KEYS)}=${pick(r, INI_VALUES)}`);
    }
  }
  return lines.join('\n');
}
