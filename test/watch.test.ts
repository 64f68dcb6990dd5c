// SPEC §11 watch: real file changes (in place, by rename, a path created later, a Kubernetes
// ConfigMap `..data` symlink swap) restart or signal a program once after the debounce, and
// `settings.watch_config` reloads the config like SIGHUP (a bad config changes nothing).
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ctl } from './support/ctl';
import { Ringmaster, tempDir } from './support/ringmaster';

/** A ConfigMap volume as the kubelet's atomic writer lays it out: app.conf -> ..data/app.conf -> ..<ts>/app.conf. */
function configMap(dir: string, version: string, content: string): void {
  mkdirSync(path.join(dir, `..${version}`), { recursive: true });
  writeFileSync(path.join(dir, `..${version}`, 'app.conf'), content);
  symlinkSync(`..${version}`, path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
}

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, 'g')) ?? []).length;

async function pidOf(socket: string, name: string): Promise<number> {
  const m = new RegExp(`^${name}\\s+RUNNING\\s+pid (\\d+)`, 'm').exec((await ctl(socket, 'status', name)).out);
  assert.ok(m, `${name} is not RUNNING`);
  return Number(m[1]);
}

describe('watch', () => {
  it('signals on a ConfigMap swap once, restarts on a write, a rename and a late path; watch_config reloads good configs only', async () => {
    const d = tempDir('rm-watch-');
    const socket = path.join(d, 'rm.sock');
    const cm = path.join(d, 'cm');
    configMap(cm, '2026_01', 'v1\n');
    symlinkSync('..data/app.conf', path.join(cm, 'app.conf'));
    const plain = path.join(d, 'plain.txt');
    writeFileSync(plain, 'a\n');
    const file = path.join(d, 'ringmaster.yaml');
    const config = (extra = '') => [
      `settings: {socket: ${socket}, watch_config: true}`,
      'programs:',
      // One process: the HUP reaches the trap alone. `ready` once the trap is set.
      `  hup: {command: "sh -c 'trap \\"echo got-HUP\\" HUP; echo ready; while :; do read x < /dev/null; sleep 1 || :; done'", stopasgroup: false, watch: {paths: [cm/app.conf], signal: HUP, debounce: 300ms}}`,
      '  rs: {command: "sleep 100", startsecs: 0, watch: {paths: [plain.txt, later/new.txt], action: restart, debounce: 200ms}}',
      extra,
    ].join('\n');
    writeFileSync(file, config());
    const rm = new Ringmaster({ args: ['-c', file] });
    try {
      await rm.waitFor(/hup\s+\| ready/);
      await rm.waitFor(/rs entered RUNNING/);

      // The kubelet's swap: new dir, new ..data_tmp link renamed over ..data, old dir removed.
      configMap(cm, '2026_02', 'v2\n');
      rmSync(path.join(cm, '..2026_01'), { recursive: true });
      assert.equal(readFileSync(path.join(cm, 'app.conf'), 'utf8'), 'v2\n');
      await rm.waitFor(/hup\s+\| got-HUP/);

      let pid = await pidOf(socket, 'rs');
      const restarted = async (change: () => void, what: string) => {
        const before = count(rm.stdout, /rs: \S+ changed: restarting/);
        change();
        await rm.waitFor(new RegExp(`(rs: \\S+ changed: restarting[\\s\\S]*){${before + 1}}`));
        await rm.waitFor(new RegExp(`spawned: rs with pid (?!${pid}\\b)\\d+`));
        const next = await pidOf(socket, 'rs');
        assert.notEqual(next, pid, what);
        pid = next;
      };
      await restarted(() => appendFileSync(plain, 'b\n'), 'written in place');
      await restarted(() => {
        writeFileSync(`${plain}.new`, 'c\n');
        renameSync(`${plain}.new`, plain);
      }, 'replaced by rename');
      await restarted(() => {
        mkdirSync(path.join(d, 'later'));
        writeFileSync(path.join(d, 'later', 'new.txt'), 'n\n');
      }, 'a path that did not exist');
      // Three restarts, and the swap (several events) gave one HUP.
      assert.equal(count(rm.stdout, /rs: \S+ changed: restarting/), 3);
      assert.equal(count(rm.stdout, /hup: \S+ changed: sending HUP/), 1);
      assert.equal(count(rm.stdout, /got-HUP/), 1);

      // watch_config: a good change is applied, a bad one is refused and changes nothing.
      writeFileSync(file, config('  extra: {command: "sleep 101", startsecs: 0}\n'));
      await rm.waitFor(/changed: reloading the config \(watch_config\)[\s\S]*reloaded: added extra/);
      await rm.waitFor(/extra entered RUNNING/);
      appendFileSync(file, 'programs: [\n');
      await rm.waitFor(/reload refused: \d+ problem\(s\) in the config; nothing was changed/);
      assert.equal(await pidOf(socket, 'rs'), pid);
      await pidOf(socket, 'extra');

      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    } finally {
      rm.kill();
    }
  });
});
