// SPEC §10 in a real container: the kernel's OOM killer under `docker run --memory` named as such,
// and ringmaster as an arbitrary uid with no passwd entry, on a read-only root, not PID 1. The
// image is the one the other Docker tests build (cached); containers are removed by name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  IMAGE, buildImage, docker, dockerOk, inspect, linesOf, logs, mountConfig, releaseEngine, removeContainers,
  runDetached, skip, waitExit, waitLog,
} from './support';

const forever = (name: string) => `["sh", "-c", "echo ${name} up; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]`;

describe('ringmaster in Docker: OOM kills, any user (SPEC §10)', { skip }, () => {
  before(buildImage, { timeout: 20 * 60_000 });
  after(async () => {
    await removeContainers();
    releaseEngine();
  });

  it('--memory 160m: a program the OOM killer kills is named so in its exit line and `ctl status`; ringmaster lives on', async () => {
    const name = await runDetached('oom', ['--memory', '160m', '--memory-swap', '160m', ...mountConfig(`programs:
  web: {command: ${forever('web')}}
  hog:
    command: ["sh", "-c", "echo 1000 > /proc/self/oom_score_adj; echo hogging; exec tail /dev/zero"]
    autorestart: false
    startsecs: 0
`), IMAGE]);
    await waitLog(name, /exited: hog \(killed by SIGKILL from the kernel's OOM killer; not expected\)/, 'stdout', 60_000);
    const r = await docker(['exec', name, 'ringmaster', 'ctl', 'status']);
    assert.match(r.stdout, /^hog +EXITED +.*, exit code 137 \(killed by SIGKILL from the kernel's OOM killer\)$/m, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +RUNNING/m);
    assert.equal(await inspect(name, '{{.State.Running}}'), 'true');
    assert.equal(await inspect(name, '{{.State.OOMKilled}}'), 'false', 'the container itself was not killed');
    await dockerOk(['stop', name]);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
  });

  it('--user 12345:12345 --read-only, not PID 1: user: naming itself runs, the socket falls back to the temp dir, `user: root` is refused by check', async () => {
    // A shell is PID 1 here and passes docker stop's TERM on.
    const name = await runDetached('anyuser', ['--user', '12345:12345', '--read-only', '--tmpfs', '/tmp:mode=1777', ...mountConfig(`programs:
  web: {command: ${forever('web')}, user: "12345"}
`), '--entrypoint', '/bin/sh', IMAGE, '-c', 'trap \'kill -TERM $pid; wait $pid; exit $?\' TERM; /usr/local/bin/ringmaster & pid=$!; wait $pid']);
    await waitLog(name, /^web +\| web up$/m);
    // RUNNING comes startsecs after the first line: `ctl status` exits 3 while anything is not.
    await waitLog(name, /web entered RUNNING/);
    const { stdout, stderr } = await logs(name);
    assert.match(stdout, /^ringmaster +\| ringmaster pid \d+, 1 processes/m, 'not PID 1');
    assert.match(stdout, /^ringmaster +\| control socket at \/tmp\/ringmaster-12345\/ringmaster\.sock \(/m);
    assert.deepEqual(linesOf(stderr, 'ringmaster'), [], 'no warning');
    const top = await dockerOk(['top', name, '-o', 'pid,uid,args']);
    assert.match(top, /\d+ +12345 +sh -c echo web up/);
    const r = await docker(['exec', '--user', '12345:12345', name, 'ringmaster', 'ctl', 'status']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^web +RUNNING +pid \d+/m);
    await dockerOk(['stop', name]);
    assert.equal(await waitExit(name), 0);
    assert.match((await logs(name)).stdout, /web: STOPPED, exit code 0 .*stopped by shutdown/);

    const check = await docker(['run', '--rm', '--network=none', '--user', '12345:12345', '--read-only', ...mountConfig(`programs:
  web: {command: ["true"], user: root}
`), IMAGE, 'check']);
    assert.equal(check.code, 2, check.stdout + check.stderr);
    assert.match(check.stderr, /^\/etc\/ringmaster\.yaml:2:34: programs\.web\.user: ringmaster runs as uid 12345:12345, not root, so it can run programs only as itself, not as "root" \(0:0\)/m);
  });
});
