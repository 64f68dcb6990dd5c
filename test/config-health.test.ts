// SPEC §2 depends_on and healthcheck: the forms they take, their defaults, and every rule a
// config must pass before anything starts (unknown names, cycles, impossible conditions).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import type { Config } from '../src/config/types';
import { dir, problems, write } from './support/config-files';

function config(lines: string[]) {
  const d = dir('rm-config-health-');
  const file = write(d, 'ringmaster.yaml', lines.join('\n') + '\n');
  return { file, load: (): Config => loadConfig({ file, env: {}, cwd: d }) };
}
const program = (c: Config, name: string) => c.programs.find((p) => p.name === name)!;

describe('§2 depends_on', () => {
  it('takes a list (condition started) or a map of name -> {condition} or the short name: condition', () => {
    const c = config([
      'programs:',
      '  db: {command: x, healthcheck: {tcp: "5432"}}',
      '  migrate: {command: x, startsecs: 0}',
      '  cache: {command: x}',
      '  web:',
      '    command: x',
      '    depends_on: {db: {condition: healthy}, migrate: completed, cache: ~}',
      '  worker: {command: x, depends_on: [db, cache]}',
    ]).load();
    assert.deepEqual(program(c, 'web').dependsOn.map((d) => [d.program, d.condition]), [['db', 'healthy'], ['migrate', 'completed'], ['cache', 'started']]);
    assert.deepEqual(program(c, 'worker').dependsOn.map((d) => [d.program, d.condition]), [['db', 'started'], ['cache', 'started']]);
    assert.deepEqual(program(c, 'db').dependsOn, []);
  });

  it('an unknown name, a bad condition, a self-reference and impossible conditions are config errors at their place', () => {
    const { file, load } = config([
      'programs:',
      '  db: {command: x}',
      '  forever: {command: x, autorestart: true}',
      '  slow: {command: x}',
      '  off: {command: x, disabled: true}',
      '  web:',
      '    command: x',
      '    depends_on:',
      '      dbb: {condition: started}',
      '      web: started',
      '  cron: {command: x, depends_on: {db: {condition: ready}}}',
      '  api:',
      '    command: x',
      '    depends_on: {db: healthy, forever: completed, off: started, slow: completed}',
    ]);
    assert.deepEqual(problems(load), [
      `${file}:14:65: programs.api.depends_on.slow: condition completed needs startsecs: 0 on "slow" (an exit within startsecs is a failed start)`,
      `${file}:9:7: programs.web.depends_on.dbb: no program named "dbb", did you mean "db"?`,
      `${file}:10:7: programs.web.depends_on.web: a program cannot depend on itself`,
      `${file}:11:51: programs.cron.depends_on.db.condition: expected started, healthy or completed, got "ready"`,
      `${file}:14:18: programs.api.depends_on.db: condition healthy needs a healthcheck on "db"`,
      `${file}:14:31: programs.api.depends_on.forever: condition completed: "forever" has autorestart: true and never completes`,
      `${file}:14:51: programs.api.depends_on.off: "off" is disabled: it would wait forever`,
    ].sort((a, b) => Number(a.split(':')[1]) - Number(b.split(':')[1]) || Number(a.split(':')[2]) - Number(b.split(':')[2])));
  });

  it('a cycle is a config error that names the whole cycle', () => {
    const { file, load } = config([
      'programs:',
      '  a: {command: x, depends_on: [b]}',
      '  b: {command: x, depends_on: [c]}',
      '  c: {command: x, depends_on: [a]}',
      '  d: {command: x, depends_on: [a]}',
    ]);
    assert.deepEqual(problems(load), [`${file}:2:32: programs.a.depends_on: dependency cycle: a -> b -> c -> a`]);
  });
});

describe('§2 healthcheck', () => {
  it('has Docker-like defaults: interval 5s, timeout 2s, retries 3, start_period 0, no liveness', () => {
    const c = config(['programs:', '  web: {command: x, healthcheck: {http: "http://127.0.0.1:8080/health"}}']).load();
    const hc = program(c, 'web').healthcheck!;
    assert.deepEqual(hc.probe, { kind: 'http', url: 'http://127.0.0.1:8080/health' });
    assert.deepEqual([hc.intervalMs, hc.timeoutMs, hc.retries, hc.startPeriodMs, hc.liveness], [5000, 2000, 3, 0, false]);
  });

  it('reads each kind of probe: exec split like a command, tcp host:port or a port, log a regex', () => {
    const c = config([
      'programs:',
      '  a: {command: x, healthcheck: {exec: "pg_isready -q -h \'my host\'", interval: 1s, timeout: 500ms, retries: 5, start_period: 10s, liveness: true}}',
      '  b: {command: x, healthcheck: {exec: [sh, -c, "test -f /tmp/ok"]}}',
      '  c: {command: x, healthcheck: {tcp: "db.local:5432"}}',
      '  d: {command: x, healthcheck: {tcp: 6379}}',
      '  e: {command: x, healthcheck: {tcp: "[::1]:80"}}',
      '  f: {command: x, healthcheck: {log: "ready to accept connections"}}',
    ]).load();
    const a = program(c, 'a').healthcheck!;
    assert.deepEqual(a.probe, { kind: 'exec', argv: ['pg_isready', '-q', '-h', 'my host'], text: "pg_isready -q -h 'my host'" });
    assert.deepEqual([a.intervalMs, a.timeoutMs, a.retries, a.startPeriodMs, a.liveness], [1000, 500, 5, 10_000, true]);
    assert.deepEqual(program(c, 'b').healthcheck!.probe, { kind: 'exec', argv: ['sh', '-c', 'test -f /tmp/ok'], text: 'sh -c test -f /tmp/ok' });
    assert.deepEqual(program(c, 'c').healthcheck!.probe, { kind: 'tcp', host: 'db.local', port: 5432 });
    assert.deepEqual(program(c, 'd').healthcheck!.probe, { kind: 'tcp', host: '127.0.0.1', port: 6379 });
    assert.deepEqual(program(c, 'e').healthcheck!.probe, { kind: 'tcp', host: '::1', port: 80 });
    assert.deepEqual(program(c, 'f').healthcheck!.probe, { kind: 'log', pattern: 'ready to accept connections' });
  });

  it('reports every bad value at its place: no probe, two probes, bad URL, port, regex, durations, liveness on log', () => {
    const { file, load } = config([
      'programs:',
      '  a: {command: x, healthcheck: {interval: 1s}}',
      '  b: {command: x, healthcheck: {exec: "true", tcp: 80}}',
      '  c: {command: x, healthcheck: {http: "ftp://x/"}}',
      '  d: {command: x, healthcheck: {tcp: "host:99999"}}',
      '  e: {command: x, healthcheck: {log: "(unclosed"}}',
      '  f: {command: x, healthcheck: {exec: "true", interval: 0, retries: 0, timout: 1s}}',
      '  g: {command: x, healthcheck: {log: ready, liveness: true}}',
    ]);
    const ps = problems(load);
    const expect = [
      /:2:32: programs\.a\.healthcheck: needs one of exec, http, tcp or log$/,
      /:3:32: programs\.b\.healthcheck: has exec and tcp: give exactly one of exec, http, tcp or log$/,
      /:4:39: programs\.c\.healthcheck\.http: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x\/"$/,
      /:5:38: programs\.d\.healthcheck\.tcp: expected host:port like 127\.0\.0\.1:5432, got "host:99999"$/,
      /:6:38: programs\.e\.healthcheck\.log: not a valid regular expression: /,
      /:7:57: programs\.f\.healthcheck\.interval: must be at least 10ms, got 0ms$/,
      /:7:69: programs\.f\.healthcheck\.retries: expected an integer from 1 up, got 0$/,
      /:7:72: programs\.f\.healthcheck\.timout: unknown key "timout", did you mean "timeout"\?$/,
      /:8:55: programs\.g\.healthcheck\.liveness: a log check passes once and cannot turn unhealthy after; liveness needs exec, http or tcp$/,
    ];
    assert.equal(ps.length, expect.length, ps.join('\n'));
    for (const [i, re] of expect.entries()) assert.match(ps[i], re);
    assert.ok(ps.every((p) => p.startsWith(`${file}:`)));
  });
});
