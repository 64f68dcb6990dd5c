// ringmaster's image in a real Docker engine (issue #13): docker logs, docker stop, docker kill and
// single-command mode, as a user of `docker run` sees them. The image is built from the project's
// Dockerfile unchanged; every container is named by this file and removed by that name.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  DOCKER, ENV, IMAGE, ROOT, buildImage, configFile, containerName, docker, dockerOk, inspect, linesOf, logs,
  releaseEngine, removeContainers, runDetached, skip, waitExit, waitFor, waitLog,
} from './support';

/** A program that says it is up, writes one line on each stream and ends cleanly on TERM. */
const polite = (name: string) =>
  `["sh", "-c", "echo ${name} up; echo ${name} err >&2; trap 'echo ${name} got TERM; exit 0' TERM; while :; do sleep 1 & wait $!; done"]`;

/** Seconds of a compose/Kubernetes duration ("40s", "1m30s", 25). */
function seconds(v: string | number): number {
  if (typeof v === 'number') return v;
  let s = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) s += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return s;
}

describe('ringmaster in Docker: docker logs, stop, kill', { skip }, () => {
  before(buildImage, { timeout: 20 * 60_000 });
  after(async () => {
    await removeContainers();
    releaseEngine();
  });

  it('docker logs: every line prefixed, stderr lines on the stderr stream only, the summary last; docker stop (-t 10) exits 0 after an ordered stop', async () => {
    const name = await runDetached('logs', [
      '-v', `${configFile(`programs:
  web: {command: ${polite('web')}, priority: 10}
  worker: {command: ${polite('worker')}, priority: 20}
`)}:/etc/ringmaster.yaml:ro`,
      IMAGE,
    ]);
    await waitLog(name, /^worker +\| worker up$/m);
    await waitLog(name, /^web +\| web up$/m);
    const stop = await docker(['stop', name], { timeoutMs: 60_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
    const { stdout, stderr } = await logs(name);
    assert.deepEqual(linesOf(stdout, 'web'), ['web up', 'web got TERM']);
    assert.deepEqual(linesOf(stderr, 'web'), ['web err']);
    assert.deepEqual(linesOf(stdout, 'worker'), ['worker up', 'worker got TERM']);
    assert.deepEqual(linesOf(stderr, 'worker').filter((l) => l !== 'Terminated'), ['worker err']);
    // Reverse priority: worker (20) is gone before web (10) is signalled.
    const own = linesOf(stdout, 'ringmaster');
    assert.ok(own.indexOf('stopping worker') < own.indexOf('stopping web'), own.join('\n'));
    assert.ok(stdout.indexOf('worker got TERM') < stdout.indexOf('web got TERM'));
    // The summary, then the exit line, are the last lines of the container's output.
    assert.deepEqual(own.slice(-3), [
      'web: STOPPED, exit code 0 (exit status 0), stopped by shutdown, 0 restarts',
      'worker: STOPPED, exit code 0 (exit status 0), stopped by shutdown, 0 restarts',
      'exiting with code 0',
    ]);
    console.log(`# docker stop of 2 programs: ${stop.ms} ms`);
  });

  it('a program that ignores TERM, with the compose example\'s settings, is killed at its stopwaitsecs and the container still exits 0 with its summary within the grace', async () => {
    // The example's own numbers: stopwaitsecs (web's), shutdown_timeout and stop_grace_period.
    const dir = path.join(ROOT, 'compose-examples', 'compose');
    const example = parse(readFileSync(path.join(dir, 'ringmaster.yaml'), 'utf8'));
    const compose = parse(readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8'));
    const stopwaitsecs = seconds(example.programs.web.stopwaitsecs);
    const grace = seconds(compose.services.app.stop_grace_period);
    assert.ok(stopwaitsecs < seconds(example.settings.shutdown_timeout) && seconds(example.settings.shutdown_timeout) < grace);
    const name = await runDetached('stubborn', [
      '-v', `${configFile(`settings: {shutdown_timeout: ${example.settings.shutdown_timeout}}
programs:
  stubborn: {command: ["sh", "-c", "trap '' TERM; echo ignoring TERM; while :; do sleep 1; done"], stopwaitsecs: ${stopwaitsecs}, stopasgroup: false}
`)}:/etc/ringmaster.yaml:ro`,
      IMAGE,
    ]);
    await waitLog(name, /ignoring TERM/);
    const stop = await docker(['stop', '-t', String(grace), name], { timeoutMs: (grace + 30) * 1000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
    const own = linesOf((await logs(name)).stdout, 'ringmaster');
    assert.match(own.at(-2) ?? '', /^stubborn: STOPPED, exit code 137 \(killed by SIGKILL after stopwaitsecs \d+s\), stopped by shutdown/);
    assert.equal(own.at(-1), 'exiting with code 0');
    console.log(`# docker stop -t ${grace} with a TERM-ignoring program (stopwaitsecs ${stopwaitsecs}): ${stop.ms} ms`);
  });

  it('docker kill -s USR1 reaches every program, -s HUP reloads the config (a new program starts, the others keep their pid), -s TERM shuts down with 0', async () => {
    const config = configFile(`programs:
  a: {command: ["sh", "-c", "trap 'echo a got USR1' USR1; echo a up; while :; do sleep 1 & wait $!; done"]}
  b: {command: ["sh", "-c", "trap 'echo b got USR1' USR1; echo b up; while :; do sleep 1 & wait $!; done"]}
`);
    const name = await runDetached('kill', ['-v', `${config}:/etc/ringmaster.yaml:ro`, IMAGE]);
    await waitLog(name, /^a +\| a up$/m);
    await waitLog(name, /^b +\| b up$/m);
    await waitLog(name, /b entered RUNNING/);
    await dockerOk(['kill', '-s', 'USR1', name]);
    await waitLog(name, /^a +\| a got USR1$/m);
    await waitLog(name, /^b +\| b got USR1$/m);
    // Edited in place: the bind mount shows the new content.
    writeFileSync(config, readFileSync(config, 'utf8') + '  c: {command: ["sh", "-c", "echo c up; exec sleep 1000"]}\n');
    await dockerOk(['kill', '-s', 'HUP', name]);
    await waitLog(name, /^c +\| c up$/m);
    const own = linesOf((await logs(name)).stdout, 'ringmaster');
    assert.ok(own.includes('reloading the config'), own.join('\n'));
    assert.ok(own.some((l) => /^reloaded: added c/.test(l)), own.join('\n'));
    assert.equal(own.filter((l) => /^spawned: [ab] /.test(l)).length, 2, 'a and b were not restarted by the reload');
    assert.equal(await inspect(name, '{{.State.Running}}'), 'true');
    await dockerOk(['kill', '-s', 'TERM', name]);
    assert.equal(await waitExit(name), 0);
    const out = (await logs(name)).stdout;
    for (const p of ['a', 'b', 'c']) assert.match(out, new RegExp(`^ringmaster +\\| ${p}: STOPPED, `, 'm'));
  });

  it('single-command mode passes the command\'s status through: 0, 7, 126 (not executable), 127 (not found), 143 (docker stop)', async () => {
    const status = async (...cmd: string[]) => {
      const name = containerName('single');
      const r = await docker(['run', '--name', name, '--network=none', IMAGE, '--', ...cmd], { timeoutMs: 120_000 });
      return { code: r.code, out: r.stdout + r.stderr };
    };
    assert.equal((await status('true')).code, 0);
    assert.equal((await status('sh', '-c', 'exit 7')).code, 7);
    const notExecutable = await status('/etc/hostname');
    assert.equal(notExecutable.code, 126, notExecutable.out);
    const notFound = await status('no-such-command');
    assert.equal(notFound.code, 127, notFound.out);
    const name = await runDetached('single-stop', [IMAGE, '--', 'sleep', '1000']);
    await waitFor('sleep to run', async () => ((await docker(['top', name])).stdout.includes('sleep 1000') ? true : undefined));
    await dockerOk(['stop', name]);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '143');
  });

  it('docker run -it: the command has the terminal, and ^C on it ends the container with 130', async () => {
    // `script` gives the docker client the terminal a user's shell would; ^C goes through the
    // client's raw-mode terminal to the container's, whose foreground group is the command's.
    const name = containerName('tty');
    const cmdline = `${DOCKER} run -it --name ${name} --network=none ${IMAGE} -- sh -c 'tty; echo ready; sleep 60'`;
    const child = spawn('script', ['-qfec', cmdline, '/dev/null'], { env: ENV, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor('the command to print ready', async () => (/ready/.test(out) ? true : undefined), 60_000);
      assert.match(out, /\/dev\/pts\/\d+/);
      child.stdin.write('\x03');
      const code = await Promise.race([closed, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
      assert.equal(code, 130, out);
      assert.equal(await inspect(name, '{{.State.ExitCode}}'), '130');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // ended
      }
    }
  });
});

