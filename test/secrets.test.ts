// SPEC §11 secrets from files: `${file:PATH}` in any config string and RINGMASTER_<SETTING>_FILE,
// read at load and at every reload, and never shown by ringmaster: its lines, ctl, the JSON API,
// XML-RPC, check and convert are all searched for the values.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { ctl } from './support/ctl';
import { dir, problems, write } from './support/config-files';
import { freePort, httpUnix } from './support/http';
import { BUNDLE, Ringmaster, tempDir } from './support/ringmaster';
import { rpc } from './support/xmlrpc';

const TOKEN = 'tok-SECRET-41f7';
const TOKEN2 = 'tok-SECRET-rotated-9c2e';
const PASSWORD = 'pw-SECRET-77aa';

function bundle(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BUNDLE, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd, timeout: 20_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('${file:PATH} and RINGMASTER_<SETTING>_FILE', () => {
  it('reads a file with one trailing newline removed, relative to the config', () => {
    const d = dir();
    write(d, 'secrets/token', `${TOKEN}\n\n`);
    const c = loadConfig({ file: write(d, 'ringmaster.yaml', 'programs:\n  a: {command: "run --token=${file:secrets/token}", environment: {T: "${file:secrets/token}"}}\n'), env: {}, cwd: '/' });
    assert.deepEqual(c.programs[0].argv, ['run', `--token=${TOKEN}`]);
    assert.equal(c.programs[0].environment.T, `${TOKEN}\n`);
    assert.deepEqual(c.secrets, [`${TOKEN}\n`]);
  });

  it('a missing file is a problem at its line; a value in a problem is redacted', () => {
    const d = dir();
    write(d, 'flag', `${TOKEN}\n`);
    const found = problems(() => loadConfig({
      file: write(d, 'ringmaster.yaml', 'programs:\n  a:\n    command: "x ${file:nothing-here}"\n  b: {command: x, autostart: "${file:flag}"}\n'),
      env: {},
      cwd: d,
    }));
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found[0], /ringmaster\.yaml:3:14: programs\.a\.command: \$\{file:nothing-here\}: cannot read \/\S+\/nothing-here: ENOENT$/);
    assert.match(found[1], /ringmaster\.yaml:4:\d+: programs\.b\.autostart: expected true or false, got "\[redacted\]"/);
    assert.doesNotMatch(found.join('\n'), new RegExp(TOKEN));
  });

  it('RINGMASTER_<SETTING>_FILE sets a setting from a file; with the plain variable too it is an error', () => {
    const d = dir();
    const pw = write(d, 'pw', `${PASSWORD}\n`);
    const file = write(d, 'ringmaster.yaml', 'settings: {http_username: admin}\n');
    const c = loadConfig({ file, env: { RINGMASTER_HTTP_PASSWORD_FILE: pw }, cwd: d });
    assert.equal(c.settings.httpPassword, PASSWORD);
    assert.ok(problems(() => loadConfig({ file, env: { RINGMASTER_HTTP_PASSWORD_FILE: pw, RINGMASTER_HTTP_PASSWORD: 'x' }, cwd: d })).includes(
      'env:RINGMASTER_HTTP_PASSWORD_FILE:1:1: settings.http_password: RINGMASTER_HTTP_PASSWORD and RINGMASTER_HTTP_PASSWORD_FILE are both set: use one',
    ));
    const missing = problems(() => loadConfig({ file, env: { RINGMASTER_HTTP_PASSWORD_FILE: path.join(d, 'none') }, cwd: d }));
    assert.ok(missing.some((p) => /^env:RINGMASTER_HTTP_PASSWORD_FILE:1:1: settings\.http_password: cannot read .*none: ENOENT$/.test(p)), missing.join('\n'));
  });

  it('a running ringmaster passes the secrets to its programs, re-reads them on reload, and never shows them', async () => {
    const d = tempDir('rm-secrets-');
    const socket = path.join(d, 'rm.sock');
    const port = await freePort();
    const token = path.join(d, 'token');
    writeFileSync(token, `${TOKEN}\n`);
    writeFileSync(path.join(d, 'pw'), PASSWORD);
    const file = path.join(d, 'ringmaster.yaml');
    writeFileSync(file, [
      `settings: {socket: ${socket}, http: "127.0.0.1:${port}", http_username: admin}`,
      'programs:',
      '  show: {command: "sh -c \'echo token=$TOKEN; exec sleep 100\'", startsecs: 0, environment: {TOKEN: "${file:token}"}}',
      // A spawn error quotes the command: the secret in it must not come out.
      '  missing: {command: "/nonexistent/${file:token}", startretries: 0}',
      '',
    ].join('\n'));
    const rm = new Ringmaster({ args: ['-c', file], env: { RINGMASTER_HTTP_PASSWORD_FILE: path.join(d, 'pw') } });
    try {
      await rm.waitFor(new RegExp(`show\\s+\\| token=${TOKEN}\\n`));
      await rm.waitFor(/missing entered FATAL/);
      const shown: string[] = [];
      shown.push((await ctl(socket, 'status')).out, (await ctl(socket, 'avail')).out);
      shown.push((await httpUnix(socket, 'GET', '/v1/status')).body, (await httpUnix(socket, 'GET', '/v1/avail')).body);
      shown.push(JSON.stringify(rpc(socket, ['supervisor.getAllProcessInfo'], ['supervisor.getAllConfigInfo'], ['supervisor.getProcessInfo', ['missing']])));
      assert.match(shown.join('\n'), /\/nonexistent\/\[redacted\]/);

      // The password from RINGMASTER_HTTP_PASSWORD_FILE guards the TCP listener.
      const auth = (pw: string) => fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}` } });
      assert.equal((await auth(PASSWORD)).status, 200);
      assert.equal((await auth('wrong')).status, 401);

      // Rotated: a reload reads the file again and restarts the program whose value changed.
      writeFileSync(token, `${TOKEN2}\n`);
      const reload = await ctl(socket, 'reload');
      assert.equal(reload.code, 0, reload.out);
      await rm.waitFor(new RegExp(`show\\s+\\| token=${TOKEN2}\\n`));
      shown.push(reload.out, (await ctl(socket, 'status')).out, (await ctl(socket, 'avail')).out);

      await rm.signal('SIGTERM');
      assert.equal((await rm.wait()).code, 0);
      // ringmaster's own lines: everything but what the program printed itself.
      shown.push((rm.stdout + rm.stderr).split('\n').filter((l) => !/^show\s+\|/.test(l)).join('\n'));
      const all = shown.join('\n');
      for (const secret of [TOKEN, TOKEN2, PASSWORD]) assert.doesNotMatch(all, new RegExp(secret), `${secret} leaked`);
    } finally {
      rm.kill();
    }
  });

  it('check and convert do not show them', () => {
    const d = tempDir('rm-secrets-cli-');
    writeFileSync(path.join(d, 'token'), TOKEN);
    writeFileSync(path.join(d, 'ringmaster.yaml'), 'programs:\n  a: {command: "x", autostart: "${file:token}"}\n');
    const checked = bundle(['check', '-c', path.join(d, 'ringmaster.yaml')]);
    assert.equal(checked.code, 2);
    assert.match(checked.out, /programs\.a\.autostart: expected true or false, got "\[redacted\]"/);
    writeFileSync(path.join(d, 'supervisord.conf'), '[program:a]\ncommand=/bin/x ${file:token}\nautostart=${file:token}\n');
    const converted = bundle(['convert', path.join(d, 'supervisord.conf')], {}, d);
    assert.match(converted.out, /\$\{file:token\}/, 'convert keeps the reference, not the value');
    for (const out of [checked.out, converted.out]) assert.doesNotMatch(out, new RegExp(TOKEN));
  });
});
