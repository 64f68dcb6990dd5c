// SPEC §1 (`convert`, `-c supervisord.conf`) and §2: a supervisord.conf runs the same programs,
// with the same argv, working directory, umask and environment, whether the real supervisord
// runs it, ringmaster runs it as INI, or ringmaster runs what `ringmaster convert` printed for it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BUNDLE, tempDir } from './support/ringmaster';
import { HAVE_SUPERVISORD, NO_SUPERVISORD, dumpsOfRingmaster, dumpsOfSupervisord, writeDumpScript, type Dump } from './support/supervisord-dumps';

interface Case {
  files: Record<string, string>;
  /** The process names supervisord runs for it. */
  processes: string[];
  env?: NodeJS.ProcessEnv;
}

const supervisordSection = (extra: string) => `[supervisord]
${extra}
nodaemon=true
logfile=%(here)s/supervisord.log     ; the main log, in the temp dir
logfile_maxbytes=0
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s

[unix_http_server]
file=%(here)s/supervisor.sock
chmod=0700
`;

const CASES: Record<string, Case> = {
  'web + workers with numprocs, a group, environment with quoting': {
    processes: ['nginx', 'php-fpm', 'queue_01', 'queue_02', 'queue_03'],
    env: { PORT: '8080' },
    files: {
      'supervisord.conf': `; A typical image's supervisord.conf
${supervisordSection('environment=APP_ENV="production",SHARED="global",GREETING="hello, world"')}
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/supervisor.sock

[program:nginx]
command=python3 %(here)s/dump.py nginx -g "daemon off;" --port=%(ENV_PORT)s 'single quoted' $HOME
directory=/tmp
environment=SHARED="nginx",LIST="a,b,c",URL=http://x.example/path?q=1,EMPTY="",APP_ENV_COPY="%(ENV_APP_ENV)s"
priority=10
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
stderr_logfile=/dev/stderr
stderr_logfile_maxbytes=0
autorestart=true

[program:php-fpm]
command = python3 %(here)s/dump.py php-fpm
  --nodaemonize
  --fpm-config %(here)s/php-fpm.conf     # continuation lines, comment after whitespace
process_name=%(program_name)s
environment=PHP_MEMORY="256M", SPACED = 'two words'
  ,PERCENT="100%%"
umask=027

[program:queue]
command=python3 %(here)s/dump.py artisan queue:work --id=%(process_num)d --of=%(numprocs)d %(group_name)s
process_name=%(program_name)s_%(process_num)02d
numprocs=3
numprocs_start=1
environment=WORKER_ID="%(process_num)03d",HOST="%(host_node_name)s"
stopwaitsecs=60
stopasgroup=true

[group:app]
programs=nginx,php-fpm
priority=999
`,
    },
  },
  'includes relative to the including file, %(here)s of each file, ENV_ of [supervisord] environment': {
    processes: ['web', 'cron', 'worker-0', 'worker-1'],
    env: { SCRIPTS_DIR: '' },
    files: {
      'supervisord.conf': `${supervisordSection('environment=STAGE=test')}[include]
files = conf.d/*.conf extra/worker.ini
`,
      'conf.d/10-web.conf': `[program:web]
command=python3 %(here)s/../dump.py web %(here)s %(ENV_STAGE)s
directory=%(here)s
`,
      'conf.d/20-cron.conf': `# cron and the workers share a group
[program:cron]
command=python3 %(ENV_SCRIPTS_DIR)s/dump.py cron
environment=LOCAL="from-cron"
directory=%(ENV_SCRIPTS_DIR)s

[group:jobs]
programs=cron,worker
`,
      'extra/worker.ini': `[program:worker]
command=python3 ../dump.py worker
directory=%(here)s
numprocs=2
process_name=%(program_name)s-%(process_num)d
environment=KIND="worker",PATH="/opt/worker/bin:%(ENV_PATH)s"
`,
    },
  },
  'Django + Celery: priorities, umask, %(ENV_X)s of the global environment in a program, quotes and = inside values': {
    processes: ['django', 'celery-worker-5', 'celery-worker-6', 'celery-beat'],
    env: { APP_HOME: '' },
    files: {
      'supervisord.conf': `${supervisordSection('environment=DJANGO_SETTINGS_MODULE="app.settings.prod",APP_ROOT="%(ENV_APP_HOME)s"')}
[program:django]
command=python3 %(ENV_APP_ROOT)s/dump.py gunicorn app.wsgi:application --bind=0.0.0.0:8000 --workers=2
directory=%(ENV_APP_ROOT)s
priority=100
umask=002
environment=DATABASE_URL="postgres://app:s3cr=t@db:5432/app?sslmode=require",EMPTY_OK='',QUOTED_COMMA="a, b"
stopsignal=QUIT

[program:celery-worker]
command=python3 %(here)s/dump.py celery -A app worker --loglevel=INFO --concurrency=%(numprocs)d
process_name=%(program_name)s-%(process_num)d
numprocs=2
numprocs_start=5
priority=200
stopwaitsecs=600
killasgroup=true
stopasgroup=true
environment=C_FORCE_ROOT="true",PYTHONPATH="%(here)s/lib:%(ENV_APP_ROOT)s"

[program:celery-beat]
command = python3 %(here)s/dump.py celery -A app beat
    --schedule=/tmp/celerybeat-schedule
    --pidfile=
priority=300
autorestart=true
startsecs=5
`,
    },
  },
};

function writeCase(c: Case): { dir: string; conf: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('rm-ini-');
  writeDumpScript(dir);
  const dumps = path.join(dir, 'dumps');
  mkdirSync(dumps);
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const env: NodeJS.ProcessEnv = { ...c.env, DUMP_DIR: dumps };
  if (env.SCRIPTS_DIR === '') env.SCRIPTS_DIR = dir;
  if (env.APP_HOME === '') env.APP_HOME = dir;
  return { dir, conf: path.join(dir, 'supervisord.conf'), env };
}

function convert(conf: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [BUNDLE, 'convert', conf], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `convert failed:\n${r.stderr}`);
  const yaml = path.join(path.dirname(conf), 'converted.yaml');
  writeFileSync(yaml, r.stdout);
  return yaml;
}

describe('supervisord.conf runs like under supervisord (SPEC §1 convert, §2)', { skip: HAVE_SUPERVISORD ? false : NO_SUPERVISORD }, () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: same argv, cwd, umask and environment as supervisord, from the INI and from the converted YAML`, async () => {
      const { dir, conf, env } = writeCase(c);
      const dumps = env.DUMP_DIR!;
      const reference = await dumpsOfSupervisord(conf, dumps, c.processes, env, dir);
      assert.deepEqual(Object.keys(reference).sort(), [...c.processes].sort(), 'supervisord ran the expected processes');
      const fromIni = await dumpsOfRingmaster(conf, dumps, c.processes, env, dir);
      assertSame(fromIni, reference, 'ringmaster -c supervisord.conf');
      const fromYaml = await dumpsOfRingmaster(convert(conf, env), dumps, c.processes, env, dir);
      assertSame(fromYaml, reference, 'ringmaster -c converted.yaml');
    });
  }
});

function assertSame(actual: Record<string, Dump>, expected: Record<string, Dump>, what: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: process names`);
  for (const name of Object.keys(expected)) {
    const a = actual[name];
    const e = expected[name];
    assert.deepEqual(a.argv, e.argv, `${what}: argv of ${name}`);
    assert.equal(a.cwd, e.cwd, `${what}: cwd of ${name}`);
    assert.equal(a.umask, e.umask, `${what}: umask of ${name}`);
    assert.deepEqual(sorted(a.env), withoutOurs(sorted(e.env)), `${what}: environment of ${name}`);
  }
}

/**
 * supervisord hands its programs every variable it has; ringmaster keeps its own RINGMASTER_*
 * (issue #12, 4: a password or the whole config must not reach every program). What the test
 * runner's environment has of them (CI sets RINGMASTER_DOCKER_REQUIRED) is that difference.
 */
function withoutOurs(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('RINGMASTER_')));
}

function sorted(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1)));
}
