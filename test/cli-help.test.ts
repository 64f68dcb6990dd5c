// The command line's own help and version (SPEC §1), on the built bundle.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ROOT, Ringmaster } from './support/ringmaster';

async function output(...args: string[]): Promise<{ code: number | null; stdout: string }> {
  const rm = new Ringmaster({ args });
  const { code } = await rm.wait();
  return { code, stdout: rm.stdout };
}

it('--help is the overview of every verb, VERB --help the verb\'s own, --version the package version', async () => {
  const overview = await output('--help');
  assert.equal(overview.code, 0);
  for (const verb of ['ringmaster check', 'ringmaster ctl', 'ringmaster convert', 'ringmaster healthcheck', 'ringmaster pidproxy']) assert.ok(overview.stdout.includes(verb), `${verb} missing from --help`);
  const run = await output('run', '--help');
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^Usage: ringmaster run /);
  const check = await output('check', '--help');
  assert.match(check.stdout, /^Usage: ringmaster check /);
  const version = await output('--version');
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(version.stdout, `ringmaster ${pkg.version}\n`);
});
