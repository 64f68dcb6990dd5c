// Issue #5: Debian's real supervisorctl against ringmaster, its output and exit code compared,
// command by command, with what it prints against the real supervisord running the same programs.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ringmaster, sleep, tempDir } from './support/ringmaster';
import { NO_SUPERVISOR, Supervisord, supervisorctl, supervisorctlFollow, supervisordConfig, type CtlResult } from './support/supervisord';

const PROGRAMS = {
  web: { command: `sh -c 'echo hello from web; exec sleep 1000'`, startsecs: 1 },
  worker: { command: 'sleep 1000', numprocs: 2, process_name: '%(program_name)s_%(process_num)02d', startsecs: 0 },
  once: { command: `sh -c 'echo done'`, autostart: false, startsecs: 0, autorestart: false },
  missing: { command: '/no/such/thing', autostart: false },
};
type Programs = Record<string, Record<string, string | number | boolean>>;

function yaml(socket: string, programs: Programs): string {
  const lines = [`settings: {socket: ${socket}}`, 'programs:'];
  for (const [name, keys] of Object.entries(programs)) {
    lines.push(`  ${name}:`);
    for (const [k, v] of Object.entries(keys)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  }
  return lines.join('\n') + '\n';
}

function ini(programs: Programs): string {
  return Object.entries(programs)
    .map(([name, keys]) => [`[program:${name}]`, ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)].join('\n'))
    .join('\n\n');
}

/** What differs between any two runs: pids, uptimes, clock times, the server's address. */
function normal(r: CtlResult, url: string): string {
  const text = r.out
    .split(url)
    .join('URL')
    .replace(/pid \d+/g, 'pid N')
    .replace(/uptime \d+:\d\d:\d\d/g, 'uptime U')
    .replace(/^\d+$/gm, 'N')
    .replace(/[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M/g, 'DATE');
  return `${text}[exit ${r.code}]`;
}

describe('supervisorctl against ringmaster prints what it prints against supervisord (issue #5)', { skip: NO_SUPERVISOR }, () => {
  const rmDir = tempDir('rm-ctl-');
  const svDir = tempDir('sv-ctl-');
  const rmConfig = path.join(rmDir, 'ringmaster.yaml');
  const rmUrl = `unix://${path.join(rmDir, 'rm.sock')}`;
  let svUrl = '';
  let rm: Ringmaster;
  let sv: Supervisord;

  /** Run the same supervisorctl command against both; the normalised outputs must be equal. */
  async function both(args: string[], opts: { sortLines?: boolean } = {}): Promise<string> {
    await settle();
    const [a, b] = await Promise.all([supervisorctl(rmUrl, args), supervisorctl(svUrl, args)]);
    let ours = normal(a, rmUrl);
    let theirs = normal(b, svUrl);
    if (opts.sortLines) [ours, theirs] = [ours, theirs].map((t) => t.split('\n').sort().join('\n'));
    assert.equal(ours, theirs, `supervisorctl ${args.join(' ')}: ringmaster (first) vs supervisord`);
    return a.out;
  }

  /** Until neither has a process on its way up or down (supervisord moves states on a 1 s tick). */
  async function settle(): Promise<void> {
    const busy = /STARTING|STOPPING|BACKOFF/;
    for (const url of [rmUrl, svUrl]) {
      const until = Date.now() + 15_000;
      while (busy.test((await supervisorctl(url, ['status'])).out)) {
        if (Date.now() > until) throw new Error(`${url} did not settle`);
        await sleep(200);
      }
    }
  }

  before(async () => {
    writeFileSync(rmConfig, yaml(path.join(rmDir, 'rm.sock'), PROGRAMS));
    rm = new Ringmaster({ args: ['-c', rmConfig] });
    sv = new Supervisord(supervisordConfig(svDir, ini(PROGRAMS)));
    svUrl = `unix://${sv.socket}`;
    await sv.ready();
    await rm.waitFor(/web entered RUNNING/);
  });

  after(async () => {
    await sv.stop();
    if (rm.proc.exitCode === null) await rm.signal('SIGTERM').catch(() => {});
    await rm.wait();
  });

  it('status: all, by name and group, unknown names; exit codes 3, 0 and 4', async () => {
    assert.match(await both(['status']), /worker:worker_01\s+RUNNING/);
    await both(['status', 'web', 'worker:*']);
    await both(['status', 'nosuch']);
    await both(['status', 'worker:nosuch']);
  });

  it('pid: of the server, of a process, of one that is not running', async () => {
    await both(['pid']);
    await both(['pid', 'web']);
    await both(['pid', 'once']);
    await both(['pid', 'nosuch']);
  });

  it('avail', async () => {
    assert.match(await both(['avail']), /^missing\s+in use\s+manual\s+999:999$/m);
  });

  it('start: a missing command, a one-shot, one already running, an unknown name', async () => {
    assert.match(await both(['start', 'missing']), /^missing: ERROR \(no such file\)\n$/);
    assert.equal(await both(['start', 'once']), 'once: started\n');
    await both(['start', 'web']);
    await both(['start', 'nosuch']);
    await both(['start']);
  });

  it('stop, stop again, start, restart a group', async () => {
    await both(['stop', 'web']);
    await both(['stop', 'web']);
    await both(['status', 'web']);
    await both(['start', 'web']);
    await both(['restart', 'worker:*'], { sortLines: true });
    await both(['status']);
  });

  it('signal: a process, a group, a bad signal, a stopped process', async () => {
    await both(['signal', 'USR1', 'worker:*'], { sortLines: true });
    await both(['signal', 'NOPE', 'web']);
    await both(['signal', 'HUP', 'once']);
    await both(['signal', 'HUP', 'web']);
  });

  it('tail, tail -f', async () => {
    const out = await both(['tail', 'web']);
    assert.match(out, /hello from web/);
    await both(['tail', 'web', 'stderr']);
    await both(['tail', 'nosuch']);
    await settle();
    const [ours, theirs] = await Promise.all([supervisorctlFollow(rmUrl, ['tail', '-f', 'web'], 1500), supervisorctlFollow(svUrl, ['tail', '-f', 'web'], 1500)]);
    assert.match(ours, /^==> Press Ctrl-C to exit <==\nhello from web\n/);
    assert.equal(ours, theirs);
  });

  it('reread and update: added, changed and removed groups', async () => {
    await both(['reread']);
    const next: Programs = {
      web: { ...PROGRAMS.web, command: `sh -c 'echo hello again; exec sleep 1000'` },
      worker: PROGRAMS.worker,
      missing: PROGRAMS.missing,
      extra: { command: 'sleep 1000', startsecs: 0 },
    };
    const workerPids = (await supervisorctl(rmUrl, ['pid', 'worker:worker_00', 'worker:worker_01'])).out;
    writeFileSync(rmConfig, yaml(path.join(rmDir, 'rm.sock'), next));
    supervisordConfig(svDir, ini(next));
    await both(['reread']);
    assert.match(await both(['update']), /web: updated process group/);
    assert.match(await both(['status']), /extra\s+RUNNING/);
    await both(['reread']);
    // the unchanged group kept its processes
    assert.equal((await supervisorctl(rmUrl, ['pid', 'worker:worker_00', 'worker:worker_01'])).out, workerPids);
    writeFileSync(rmConfig, 'programs: [\n');
    const broken = await supervisorctl(rmUrl, ['reread']);
    assert.equal(broken.code, 1);
    assert.match(broken.out, /^ERROR: CANT_REREAD: .*ringmaster\.yaml:\d+:\d+: /);
    await both(['status']);
  });

  it('shutdown, and shutdown again', async () => {
    await both(['shutdown']);
    await Promise.all([rm.wait(), sv.exited]);
    await both(['shutdown']);
    assert.equal((await rm.exited).code, 0);
  });
});
