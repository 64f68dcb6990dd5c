#!/usr/bin/env node
// The long run of the repository's fuzzers (issue #12, "keep it fixed"): the same seeded
// generators and assertions as the short runs in `npm test`, with larger counts.
// Usage: node bench/fuzz/run.mjs [--count N] [--binary N] [--seed S] [--only config|control]
//   --count   inputs per config fuzzer, in process (default 20000)
//   --binary  inputs of each kind also run through the built binary (default 200)
//   --seed    reproduce a run (default: random, printed)
// Needs `npm run build:bundle` first. Exit 1 when any fuzzer finds something.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const root = path.resolve(import.meta.dirname, '..', '..');
const seed = String(opt('--seed', (Math.random() * 2 ** 32) >>> 0));
const count = String(opt('--count', 20000));
const binary = String(opt('--binary', 200));
const only = opt('--only', 'all');

const runs = [];
if (only === 'all' || only === 'config') {
  runs.push({ name: 'config (YAML through check; supervisord.conf through convert and check)', file: 'test/config-fuzz.test.ts', env: { FUZZ_CONFIG_COUNT: count, FUZZ_CONFIG_BINARY: binary } });
}
if (only === 'all' || only === 'control') {
  runs.push({ name: 'control socket, malformed and read-only requests (XML-RPC, JSON API, HTTP)', file: 'test/control-fuzz.test.ts', env: { FUZZ_COUNT: String(Number(count)) } });
  runs.push({ name: 'control socket, state-changing calls on real names against a model', file: 'test/control-state-fuzz.test.ts', env: { FUZZ_STATE_COUNT: String(Math.ceil(Number(count) / 10)) } });
}

let failed = false;
for (const run of runs) {
  const started = Date.now();
  console.log(`== ${run.name}: seed ${seed}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=3600000', run.file], {
    cwd: root,
    env: { ...process.env, ...run.env, FUZZ_SEED: seed },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = `${r.stdout}${r.stderr}`;
  for (const line of out.split('\n')) if (/^# |^\s*[✔✖]|FUZZ_SEED=/.test(line)) console.log(line.slice(0, 400));
  console.log(`   ${r.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (r.status !== 0) {
    failed = true;
    console.log(out.slice(-8000));
  }
}
process.exit(failed ? 1 : 0);
