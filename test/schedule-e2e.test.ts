// SPEC §11 schedule, end to end: the built ringmaster as PID 1 runs real jobs at their times.
// One ringmaster serves every case so the file stays short on a shared machine.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { httpUnix } from './support/http';
import { parsePrometheus } from './support/prometheus';
import { rpc } from './support/xmlrpc';
import { NO_UNSHARE, Ringmaster, canUnshare, tempDir, writeConfig } from './support/ringmaster';

describe('schedule: jobs run by a real ringmaster as PID 1', { skip: canUnshare() ? undefined : NO_UNSHARE }, () => {
  it('runs at its times, handles overlaps, runs on ctl start, shows next/last, counts in /metrics, never ends the container', async () => {
    const dir = tempDir('rm-schedule-');
    const socket = path.join(dir, 'rm.sock');
    const file = writeConfig([
      `settings: {socket: ${socket}, exit_policy: any}`,
      'programs:',
      // Prints the time it was started at, in ms since the epoch.
      '  tick: {command: "date +%s%3N", schedule: "* * * * * *"}',
      '  slow: {command: "sleep 2.5", schedule: "@every 1s"}',
      '  swap: {command: "sleep 100", schedule: "@every 1s", overlap: replace}',
      '  queue: {command: "sleep 1.5", schedule: "@every 1s", overlap: allow}',
      '  fail: {command: "sh -c \'exit 3\'", schedule: "@every 1s"}',
      '  yearly: {command: "echo yearly-ran", schedule: "0 0 1 1 *", schedule_timezone: Asia/Kolkata}',
      '  boot: {command: "echo boot-ran", schedule: "@reboot"}',
      '  web: {command: "sleep 1000", startsecs: 0}',
      '',
    ].join('\n'), dir);
    const rm = new Ringmaster({ pid1: true, args: ['-c', file] });
    try {
      await rm.waitFor(/boot\s+\| boot-ran/);
      // Four runs of the every-second job: each starts in its own second, right after the boundary.
      const ticks = (await rm.waitFor(/(tick\s+\| \d{13}\n[\s\S]*){4}/, 15_000))[0].match(/tick\s+\| \d{13}/g)!.map((l) => Number(l.slice(-13)));
      const seconds = ticks.map((t) => Math.floor(t / 1000));
      for (let i = 1; i < seconds.length; i++) assert.ok(seconds[i] > seconds[i - 1], `one run per second: ${ticks}`);
      // `date` runs after the spawn: its time is an upper bound of the start delay. Generous
      // here (a shared machine); bench/schedules measures the figure.
      for (const t of ticks.slice(1)) assert.ok(t % 1000 < 500, `a run starts right after its second: ${ticks}`);

      await rm.waitFor(/slow: run at \S+ skipped: the previous run \(pid \d+\) is still going \(overlap: forbid\)/);
      const replaced = await rm.waitFor(/swap: run at \S+ replaces the previous run \(pid (\d+)\)/);
      await rm.waitFor(new RegExp(`stopped: swap \\(terminated by SIGTERM; by the next scheduled run \\(overlap: replace\\)\\)`));
      await rm.waitFor(new RegExp(`spawned: swap with pid (?!${replaced[1]}\\b)\\d+`));
      await rm.waitFor(/queue: run at \S+ waits for the previous run \(pid \d+\) to end \(overlap: allow\)/);
      await rm.waitFor(/queue: starting the run that waited for the previous one \(overlap: allow\)/, 10_000);
      await rm.waitFor(/exited: fail \(exit status 3; not expected\)[\s\S]*exited: fail \(exit status 3; not expected\)/);

      let status = await ctl(socket, 'status', 'yearly');
      assert.match(status.out, /^yearly\s+STOPPED\s+not run yet, next run 20\d\d-01-01T00:00:00\+05:30\n$/);
      const started = await ctl(socket, 'start', 'yearly');
      assert.equal(started.code, 0, started.out);
      await rm.waitFor(/yearly\s+\| yearly-ran/);
      await rm.waitFor(/exited: yearly/);
      status = await ctl(socket, 'status', 'yearly');
      assert.match(status.out, /^yearly\s+EXITED\s+last run 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30 exit code 0, next run 20\d\d-01-01T00:00:00\+05:30\n$/);

      // XML-RPC's description says the same (supervisorctl shows it).
      const info = rpc(socket, ['supervisor.getProcessInfo', ['yearly']])[0].value as { statename: string; description: string };
      assert.equal(info.statename, 'EXITED');
      assert.match(info.description, /^last run \S+\+05:30 exit code 0, next run 20\d\d-01-01T00:00:00\+05:30$/);

      const json = JSON.parse((await httpUnix(socket, 'GET', '/v1/status')).body);
      const job = json.processes.find((p: { name: string }) => p.name === 'fail').schedule;
      assert.equal(job.last.exitstatus, 3, JSON.stringify(job));
      assert.equal(job.last.result, 'failure');
      assert.match(job.nextText, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

      const metrics = parsePrometheus((await httpUnix(socket, 'GET', '/metrics')).body);
      const sample = (family: string, labels: Record<string, string>) =>
        metrics.get(family)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
      const next = sample('ringmaster_schedule_next_run_timestamp_seconds', { process: 'tick' })!;
      assert.ok(Math.abs(next - Date.now() / 1000) < 5, `next run of tick is about now: ${next}`);
      assert.equal(sample('ringmaster_schedule_last_exit_code', { process: 'fail' }), 3);
      assert.ok(sample('ringmaster_schedule_runs_total', { process: 'fail', result: 'failure' })! >= 2);
      assert.ok(sample('ringmaster_schedule_runs_total', { process: 'tick', result: 'success' })! >= 4);
      assert.ok(sample('ringmaster_schedule_runs_total', { process: 'slow', result: 'skipped' })! >= 1);
      assert.equal(sample('ringmaster_schedule_runs_total', { process: 'boot', result: 'success' }), 1);
      assert.equal(metrics.get('ringmaster_schedule_next_run_timestamp_seconds')!.samples.some((s) => s.labels.process === 'boot'), false, '@reboot has no next run');

      // Under exit_policy any, none of those runs ended the container.
      assert.equal(rm.proc.exitCode, null);
      assert.doesNotMatch(rm.stdout + rm.stderr, /shutting down/);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    } finally {
      rm.kill();
    }
  });
});
