// SPEC §11 Procfiles: `ringmaster -c Procfile` runs each line through /bin/sh -c with the .env
// beside it and foreman's PORT; `ringmaster convert Procfile` prints the same config as YAML.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../src/config';
import { problems } from './support/config-files';
import { BUNDLE, Ringmaster, tempDir } from './support/ringmaster';

const PROCFILE = [
  '# the app',
  'web: echo "web port=$PORT ${PORT} greeting=$GREETING"; exec sleep 100',
  '',
  'worker:   echo "worker port=$PORT"; exec sleep 100',
  'clock: echo "clock port=$PORT"; exec sleep 100',
  '',
].join('\n');

function bundle(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('Procfiles', () => {
  it('runs each line as a program with the .env and PORT from its base, in line order', async () => {
    const d = tempDir('rm-procfile-');
    writeFileSync(path.join(d, 'Procfile'), PROCFILE);
    writeFileSync(path.join(d, '.env'), 'GREETING=hello\nPORT=5700\n');
    const rm = new Ringmaster({ args: ['-c', path.join(d, 'Procfile'), ], env: { RINGMASTER_SOCKET: path.join(d, 'rm.sock'), PORT: '' } });
    try {
      await rm.waitFor(/web\s+\| web port=5700 5700 greeting=hello\n/);
      await rm.waitFor(/worker\s+\| worker port=5800\n/);
      await rm.waitFor(/clock\s+\| clock port=5900\n/);
      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
    } finally {
      rm.kill();
    }
  });

  it('PORT starts at 5000 without a .env (or at ringmaster\'s own PORT), and the lines are checked', () => {
    const d = tempDir('rm-procfile-');
    const file = path.join(d, 'app.procfile');
    writeFileSync(file, PROCFILE);
    const ports = (env: NodeJS.ProcessEnv) => loadConfig({ file, env, cwd: d }).programs.map((p) => `${p.name}=${p.environment.PORT}`).sort();
    assert.deepEqual(ports({}), ['clock=5200', 'web=5000', 'worker=5100']);
    assert.deepEqual(ports({ PORT: '8000' }), ['clock=8200', 'web=8000', 'worker=8100']);
    const web = loadConfig({ file, env: {}, cwd: d }).programs.find((p) => p.name === 'web')!;
    assert.deepEqual(web.argv, ['/bin/sh', '-c', 'echo "web port=$PORT ${PORT} greeting=$GREETING"; exec sleep 100']);

    writeFileSync(file, 'web: run\nnot a line\nweb: again\napi:\n  # indented comment\n');
    assert.deepEqual(problems(() => loadConfig({ file, env: {}, cwd: d })), [
      `${file}:2:1: expected "name: command" (a name of letters, digits, _ and -), got "not a line"`,
      `${file}:3:1: programs.web: defined twice (also at ${file}:1)`,
      `${file}:4:1: programs.api.command: has no command after the colon`,
    ]);
  });

  it('convert prints YAML that loads as the same programs', () => {
    const d = tempDir('rm-procfile-');
    writeFileSync(path.join(d, 'Procfile'), PROCFILE);
    writeFileSync(path.join(d, '.env'), 'PORT=5700\n');
    const r = bundle(['convert', path.join(d, 'Procfile')]);
    assert.equal(r.code, 0, r.stderr);
    const yaml = parse(r.stdout);
    assert.deepEqual(Object.keys(yaml.programs), ['web', 'worker', 'clock']);
    assert.deepEqual(yaml.programs.worker, { command: 'echo "worker port=$$PORT"; exec sleep 100', shell: true, env_file: '.env', environment: { PORT: '5800' } });
    // Saved beside the Procfile, it is the same config.
    writeFileSync(path.join(d, 'ringmaster.yaml'), r.stdout);
    const strip = (c: ReturnType<typeof loadConfig>) => c.programs.map(({ source: _s, ...p }) => p);
    assert.deepEqual(strip(loadConfig({ file: path.join(d, 'ringmaster.yaml'), env: {}, cwd: d })), strip(loadConfig({ file: path.join(d, 'Procfile'), env: {}, cwd: d })));

    writeFileSync(path.join(d, 'Procfile'), 'web run\n');
    const bad = bundle(['convert', path.join(d, 'Procfile')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Procfile:1:1: expected "name: command"/);
  });
});
