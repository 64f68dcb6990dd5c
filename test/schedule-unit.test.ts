// SPEC §11 schedule: the time arithmetic on croner (src/cron.ts): seconds, names, steps, the
// day-of-month OR day-of-week rule, @every, RFC 3339 with the zone's offset, and daylight-saving
// changes handled as Vixie cron does; and the config's checks of schedule keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRunAfter, rfc3339 } from '../src/cron';
import type { ScheduleSpec } from '../src/config/types';
import { loadConfig } from '../src/config';
import { ScheduledJob } from '../src/supervisor/scheduler';
import { dir, problems, write } from './support/config-files';

const BERLIN = 'Europe/Berlin';

/** The next `n` runs after `from`, as RFC 3339 in the spec's zone. */
function runs(text: string, from: string, n: number, timezone = BERLIN): string[] {
  const spec: ScheduleSpec = { kind: 'cron', text, timezone };
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i++) {
    const next = nextRunAfter(spec, t, 0);
    assert.ok(next !== null);
    out.push(rfc3339(next, timezone));
    t = next;
  }
  return out;
}

describe('schedule times (src/cron.ts on croner)', () => {
  it('reads an optional leading seconds field', () => {
    assert.deepEqual(runs('*/20 * * * * *', '2026-06-01T10:00:05Z', 3, 'UTC'), ['2026-06-01T10:00:20+00:00', '2026-06-01T10:00:40+00:00', '2026-06-01T10:01:00+00:00']);
  });

  it('reads month and day names, ranges, lists and steps', () => {
    assert.deepEqual(runs('0 9 * jan-mar mon-fri/2', '2026-01-01T00:00:00Z', 3), ['2026-01-02T09:00:00+01:00', '2026-01-05T09:00:00+01:00', '2026-01-07T09:00:00+01:00']);
    assert.deepEqual(runs('15,45 8-9 * * *', '2026-06-01T00:00:00Z', 4, 'UTC'), ['2026-06-01T08:15:00+00:00', '2026-06-01T08:45:00+00:00', '2026-06-01T09:15:00+00:00', '2026-06-01T09:45:00+00:00']);
  });

  it('ORs day of month and day of week, as cron does', () => {
    // 2026-06-29 is a Monday; July 1st is a Wednesday.
    assert.deepEqual(runs('0 0 1 * mon', '2026-06-28T12:00:00Z', 3, 'UTC'), ['2026-06-29T00:00:00+00:00', '2026-07-01T00:00:00+00:00', '2026-07-06T00:00:00+00:00']);
  });

  it('knows the nicknames', () => {
    assert.deepEqual(runs('@hourly', '2026-06-01T10:20:00Z', 1, 'UTC'), ['2026-06-01T11:00:00+00:00']);
    assert.deepEqual(runs('@daily', '2026-06-01T10:20:00Z', 1, BERLIN), ['2026-06-02T00:00:00+02:00']);
    assert.deepEqual(runs('@weekly', '2026-06-01T10:20:00Z', 1, 'UTC'), ['2026-06-07T00:00:00+00:00']);
    assert.deepEqual(runs('@monthly', '2026-06-01T10:20:00Z', 1, 'UTC'), ['2026-07-01T00:00:00+00:00']);
  });

  it('spring forward: a fixed time skipped by the gap runs once, right after it', () => {
    // 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    assert.deepEqual(runs('30 2 * * *', '2026-03-28T12:00:00Z', 3), ['2026-03-29T03:00:00+02:00', '2026-03-30T02:30:00+02:00', '2026-03-31T02:30:00+02:00']);
  });

  it('fall back: a fixed time in the repeated hour runs once, at its first occurrence', () => {
    // 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    assert.deepEqual(runs('30 2 * * *', '2026-10-24T12:00:00Z', 2), ['2026-10-25T02:30:00+02:00', '2026-10-26T02:30:00+01:00']);
  });

  it('an interval job runs at every wall-clock time that exists: both passes of the repeated hour, none in the gap', () => {
    assert.deepEqual(runs('*/30 * * * *', '2026-10-24T23:50:00Z', 5), [
      '2026-10-25T02:00:00+02:00', '2026-10-25T02:30:00+02:00', '2026-10-25T02:00:00+01:00', '2026-10-25T02:30:00+01:00', '2026-10-25T03:00:00+01:00',
    ]);
    assert.deepEqual(runs('*/30 * * * *', '2026-03-28T23:50:00Z', 3), ['2026-03-29T01:00:00+01:00', '2026-03-29T01:30:00+01:00', '2026-03-29T03:00:00+02:00']);
  });

  it('@every counts from its anchor, so late timers do not drift, and skips what was missed', () => {
    const every: ScheduleSpec = { kind: 'every', text: '@every 90s', timezone: 'UTC', everyMs: 90_000 };
    assert.equal(nextRunAfter(every, 1000, 1000), 91_000);
    assert.equal(nextRunAfter(every, 91_050, 1000), 181_000);
    // Five slots missed (a sleep): the next is the first one still to come, not the first missed.
    assert.equal(nextRunAfter(every, 1000 + 90_000 * 5 + 10, 1000), 1000 + 90_000 * 6);
    assert.equal(nextRunAfter({ kind: 'reboot', text: '@reboot', timezone: 'UTC' }, 0, 0), null);
  });

  it('shows times as RFC 3339 with the zone offset', () => {
    assert.equal(rfc3339(Date.parse('2026-01-15T12:00:00Z'), 'America/New_York'), '2026-01-15T07:00:00-05:00');
    assert.equal(rfc3339(Date.parse('2026-01-15T12:00:00Z'), 'Asia/Kolkata'), '2026-01-15T17:30:00+05:30');
    assert.equal(rfc3339(Date.parse('2026-01-15T12:00:00.900Z'), 'UTC'), '2026-01-15T12:00:00+00:00');
  });
});

describe('schedule keys in the config', () => {
  const load = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
    const d = dir();
    return loadConfig({ file: write(d, 'ringmaster.yaml', yaml), env, cwd: d });
  };

  it('takes the default zone from TZ, else UTC; a scheduled program is not autostarted and not restarted', () => {
    const c = load('programs:\n  job: {command: "true", schedule: "0 3 * * *"}\n', { TZ: 'Europe/Berlin' });
    const job = c.programs[0];
    assert.equal(job.schedule?.timezone, 'Europe/Berlin');
    assert.equal(job.schedule?.overlap, 'forbid');
    assert.equal(job.autostart, false);
    assert.equal(job.autorestart, false);
    assert.equal(job.startsecsMs, 0);
    assert.equal(load('programs:\n  job: {command: "true", schedule: "@every 90s"}\n').programs[0].schedule?.everyMs, 90_000);
    assert.equal(load('programs:\n  job: {command: "true", schedule: "@daily"}\n').programs[0].schedule?.timezone, 'UTC');
  });

  it('reports every bad schedule key at its line', () => {
    const found = problems(() => load([
      'programs:',
      '  a: {command: "true", schedule: "61 * * * *"}',
      '  b: {command: "true", schedule: "@every soon"}',
      '  c: {command: "true", schedule: "@daily", schedule_timezone: Mars/Olympus}',
      '  d: {command: "true", schedule: "@daily", overlap: sometimes}',
      '  e: {command: "true", schedule: "@daily", autorestart: true}',
      '  f: {command: "true", overlap: allow}',
      '  g: {command: "true", schedul: "@daily"}',
      '  h: {command: "true", schedule: "@daily", stage: init}',
      '',
    ].join('\n')));
    const want = [
      /ringmaster\.yaml:2:\d+: programs\.a\.schedule: invalid schedule "61 \* \* \* \*"/,
      /ringmaster\.yaml:3:\d+: programs\.b\.schedule: @every needs a duration/,
      /ringmaster\.yaml:4:\d+: programs\.c\.schedule_timezone: unknown time zone "Mars\/Olympus"/,
      /ringmaster\.yaml:5:\d+: programs\.d\.overlap: expected forbid, allow or replace, got "sometimes"/,
      /ringmaster\.yaml:6:\d+: programs\.e\.autorestart: a scheduled program runs at its times only and is never restarted/,
      /ringmaster\.yaml:7:\d+: programs\.f\.overlap: only applies to a program with schedule:/,
      /ringmaster\.yaml:8:\d+: programs\.g\.schedul: unknown key "schedul", did you mean "schedule"\?/,
      /ringmaster\.yaml:9:\d+: programs\.h\.schedule: a scheduled program is in stage main \(an init program runs once, when its stage comes\)/,
    ];
    assert.equal(found.length, want.length, found.join('\n'));
    want.forEach((re, i) => assert.match(found[i], re));
  });
});

describe('watch keys in the config', () => {
  it('reads paths relative to the config, an action or a signal, and a debounce', () => {
    const d = dir();
    const c = loadConfig({ file: write(d, 'ringmaster.yaml', 'settings: {watch_config: true}\nprograms:\n  a: {command: x, watch: {paths: [conf, /etc/x], signal: hup}}\n  b: {command: x, watch: {paths: conf.d, action: restart, debounce: 2s}}\n'), env: {}, cwd: '/' });
    assert.equal(c.settings.watchConfig, true);
    assert.deepEqual(c.programs[0].watch, { paths: [`${d}/conf`, '/etc/x'], action: { kind: 'signal', signal: 'SIGHUP' }, debounceMs: 500 });
    assert.deepEqual(c.programs[1].watch, { paths: [`${d}/conf.d`], action: { kind: 'restart' }, debounceMs: 2000 });
  });

  it('reports every bad watch key at its line', () => {
    const d = dir();
    const found = problems(() => loadConfig({ file: write(d, 'ringmaster.yaml', [
      'programs:',
      '  a: {command: x, watch: {paths: [], action: restart}}',
      '  b: {command: x, watch: {paths: [f], action: reload}}',
      '  c: {command: x, watch: {paths: [f], signal: NOPE}}',
      '  d: {command: x, watch: {paths: [f]}}',
      '  e: {command: x, watch: {path: [f], action: restart}}',
      '  f: {command: x, watch: {paths: [f], action: restart, signal: HUP}}',
      '  g: {command: x, watch: [f]}',
      '',
    ].join('\n')), env: {}, cwd: d }));
    const want = [
      /:2:\d+: programs\.a\.watch\.paths: needs at least one path$/,
      /:3:\d+: programs\.b\.watch\.action: expected restart, got "reload"$/,
      /:4:\d+: programs\.c\.watch\.signal: expected a signal name/,
      /:5:\d+: programs\.d\.watch\.action: is required: action: restart, or signal: HUP instead$/,
      /:6:\d+: programs\.e\.watch\.paths: is required/,
      /:6:\d+: programs\.e\.watch\.path: unknown key "path", did you mean "paths"\?$/,
      /:7:\d+: programs\.f\.watch\.signal: give either action: restart or signal: SIG, not both$/,
      /:8:\d+: programs\.g\.watch: expected a map/,
    ];
    assert.equal(found.length, want.length, found.join('\n'));
    want.forEach((re, i) => assert.match(found[i], re));
  });
});

describe('a scheduled job\'s timer (supervisor/scheduler.ts)', () => {
  /** A job on a fake clock; `fire()` is what its timer calls. */
  function job(overlap: 'forbid' | 'allow' | 'replace' = 'forbid') {
    let now = 1_000_000;
    const starts: number[] = [];
    const lines: string[] = [];
    const process = { state: 'EXITED', pid: 0, name: 'job', spec: { program: { exitcodes: [0] } }, startedAt: 0, lastExit: null, exitCode: () => 0 };
    const j = new ScheduledJob(process as never, { kind: 'every', text: '@every 10s', timezone: 'UTC', everyMs: 10_000, overlap }, {
      log: (t) => lines.push(t),
      start: () => starts.push(now),
      stop: async () => {},
      mayRun: () => true,
      now: () => now,
    });
    const fire = () => (j as unknown as { fire(): void }).fire();
    return { j, fire, starts, lines, process, setNow: (t: number) => (now = t) };
  }

  it('a timer that fires late (the machine slept) runs once for every missed time, then keeps to the schedule', () => {
    const t = job();
    t.j.begin();
    assert.equal(t.j.state().next, 1_010);
    t.setNow(1_000_000 + 55_000); // five slots missed
    t.fire();
    assert.deepEqual(t.starts, [1_055_000]);
    assert.match(t.lines[0], /the run due at \S+ is 45\.0s late \(clock jump or sleep\): running it once now/);
    assert.equal(t.j.state().next, 1_060, 'the next run is the next slot still to come');
    t.j.end();
  });

  it('a timer that fires before its time by the wall clock (clock set back) does not run early', () => {
    const t = job();
    t.j.begin();
    t.setNow(1_000_000 - 3_600_000);
    t.fire();
    assert.deepEqual(t.starts, []);
    assert.equal(t.j.state().next, 1_010);
    t.j.end();
  });

  it('overlap forbid skips and counts a run while one is going; allow queues one', () => {
    const f = job('forbid');
    f.j.begin();
    f.process.state = 'RUNNING';
    f.setNow(1_010_000);
    f.fire();
    assert.deepEqual(f.starts, []);
    assert.equal(f.j.state().runs.skipped, 1);
    f.j.end();

    const a = job('allow');
    a.j.begin();
    a.process.state = 'RUNNING';
    a.setNow(1_010_000);
    a.fire();
    assert.deepEqual(a.starts, []);
    a.process.state = 'EXITED';
    a.j.onTransition('RUNNING', 'EXITED');
    assert.deepEqual(a.starts, [1_010_000], 'the queued run starts when the previous one ends');
    a.j.end();
  });
});
