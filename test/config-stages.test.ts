// SPEC §10 keys (stage, hooks, hook_timeout, shutdown_delay) and §3 log_level, as the config reads
// them: defaults, every problem at its FILE:LINE:COL, and the combinations a stage refuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { dir, problems, write } from './support/config-files';

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  const d = dir('rm-config-stages-');
  const file = write(d, 'ringmaster.yaml', text);
  return { file, load: () => loadConfig({ file, env, cwd: d }) };
}

describe('§10 stage, hooks, shutdown_delay and §3 log_level in the config', () => {
  it('defaults: main stage, no hooks, hook_timeout 30s, shutdown_delay 0, log_level info', () => {
    const c = load('programs: {web: {command: "true"}}\n').load();
    const web = c.programs[0];
    assert.equal(web.stage, 'main');
    assert.deepEqual(web.hooks, {});
    assert.equal(web.hookTimeoutMs, 30_000);
    assert.equal(c.settings.shutdownDelayMs, 0);
    assert.equal(c.settings.logLevel, 'info');
  });

  it('hooks are parsed like command (string split like a shell, list as is, shell: true wraps both)', () => {
    const c = load(`settings: {shutdown_delay: 5s, log_level: warn}
programs:
  web:
    command: nginx
    hook_timeout: 2s
    hooks: {pre_start: "echo 'a b' c", pre_stop: [nginx, -s, quit]}
  sh:
    command: "echo $X"
    shell: true
    hooks: {post_stop: "rm -f /tmp/x*"}
  migrate: {command: "true", stage: init, exitcodes: [0, 3]}
  cleanup: {command: "true", stage: finish}
`).load();
    const by = (n: string) => c.programs.find((p) => p.name === n)!;
    assert.deepEqual(by('web').hooks.pre_start, { argv: ['echo', 'a b', 'c'], text: "echo 'a b' c" });
    assert.deepEqual(by('web').hooks.pre_stop?.argv, ['nginx', '-s', 'quit']);
    assert.equal(by('web').hookTimeoutMs, 2000);
    assert.deepEqual(by('sh').hooks.post_stop?.argv, ['/bin/sh', '-c', 'rm -f /tmp/x*']);
    assert.equal(c.settings.shutdownDelayMs, 5000);
    assert.equal(c.settings.logLevel, 'warn');
    // A one-shot program runs once to its end: no startsecs, no retry, no restart; finish never autostarts.
    assert.deepEqual([by('migrate').stage, by('migrate').autostart, by('migrate').autorestart, by('migrate').startsecsMs, by('migrate').startretries], ['init', true, false, 0, 0]);
    assert.deepEqual([by('cleanup').stage, by('cleanup').autostart], ['finish', false]);
  });

  it('RINGMASTER_LOG_LEVEL and RINGMASTER_SHUTDOWN_DELAY override the file, checked the same way', () => {
    const { load: l } = load('settings: {log_level: info}\nprograms: {web: {command: "true"}}\n', { RINGMASTER_LOG_LEVEL: 'debug', RINGMASTER_SHUTDOWN_DELAY: '1500ms' });
    assert.equal(l().settings.logLevel, 'debug');
    assert.equal(l().settings.shutdownDelayMs, 1500);
    const bad = load('programs: {web: {command: "true"}}\n', { RINGMASTER_LOG_LEVEL: 'loud' });
    assert.deepEqual(problems(bad.load), ['env:RINGMASTER_LOG_LEVEL:1:1: settings.log_level: expected debug, info, warn or error, got "loud"']);
  });

  it('every bad value and nonsense combination is reported at its place, all at once', () => {
    const { file, load: l } = load(`settings: {shutdown_delay: soon, log_level: verbose}
programs:
  a: {command: "true", stage: pre}
  b: {command: "true", hooks: {pre_strat: "x", post_start: ""}, hook_timeout: 0x}
  c: {command: "true", stage: init, autorestart: true, startsecs: 5, critical: true, numprocs: 2, process_name: "c%(process_num)d"}
  d: {command: "true", stage: finish, autostart: true, healthcheck: {exec: "true"}, depends_on: [e]}
  e: {command: "true", depends_on: {c: {condition: completed}, d: {condition: started}}}
  f: {command: "true", hooks: "echo"}
  g: {command: "true", hook_timeout: 0}
`);
    const got = problems(l).map((p) => p.replace(`${file}:`, ''));
    assert.deepEqual(got, [
      '1:28: settings.shutdown_delay: expected a duration (seconds, or like 500ms, 10s, 1m30s), got "soon"',
      '1:45: settings.log_level: expected debug, info, warn or error, got "verbose"',
      '3:31: programs.a.stage: expected init, main or finish, got "pre"',
      '4:32: programs.b.hooks.pre_strat: unknown hook "pre_strat", did you mean "pre_start"?',
      '4:60: programs.b.hooks.post_start: is empty',
      '4:79: programs.b.hook_timeout: expected a duration (seconds, or like 500ms, 10s, 1m30s), got "0x"',
      '5:50: programs.c.autorestart: has no meaning for an init program: it runs once, to its end, and is never restarted',
      '5:67: programs.c.startsecs: has no meaning for an init program: it runs to its end: there is no "started" to wait for',
      '5:80: programs.c.critical: has no meaning for an init program: its end is decided by its stage (an init failure ends the container; a finish failure never changes the exit code)',
      '5:96: programs.c.numprocs: has no meaning for an init program: a stage runs one process at a time',
      '6:50: programs.d.autostart: has no meaning for a finish program: it is started by its stage, once',
      '6:69: programs.d.healthcheck: has no meaning for a finish program: it is not a service: nothing waits for its health',
      '6:97: programs.d.depends_on: has no meaning for a finish program: stages run one program at a time in priority order: use priority',
      '8:31: programs.f.hooks: expected a map of hooks (pre_start, post_start, pre_stop, post_stop), got "echo"',
      '9:38: programs.g.hook_timeout: must be more than 0',
    ]);
  });

  it('a main program cannot depend on an init or finish program, and an event listener has no stage', () => {
    const { file, load: l } = load(`programs:
  c: {command: "true", stage: init}
  d: {command: "true", stage: finish}
  e: {command: "true", depends_on: {c: {condition: completed}, d: {condition: started}}}
eventlisteners:
  l: {command: "true", events: [TICK_5], stage: finish}
`);
    assert.deepEqual(problems(l).map((p) => p.replace(`${file}:`, '')), [
      '4:37: programs.e.depends_on.c: "c" is an init program: every init program has ended before any main program starts',
      '4:64: programs.e.depends_on.d: "d" is a finish program: finish programs run only after every main program has stopped',
      '6:49: eventlisteners.l.stage: an event listener serves the programs while they run: its stage is main',
    ]);
  });
});
