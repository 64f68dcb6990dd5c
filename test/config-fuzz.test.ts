// Hostile configs never crash `check`, `convert` or `run` (issue #12, "keep it fixed"): mutated
// YAML configs and supervisord.conf files, seeded. Every input goes through the same code as
// `check` (loadConfig) and, for INI, `convert` (mapIniFile + mappingToYaml) in this process, and
// what check accepts must also expand its process names as `run` does; a sample goes through the
// built binary's `check` and `convert` under a 256 MB heap. Asserted: no exception but a
// ConfigError, every problem at FILE:LINE:COL, no input slower than 2 s, exit 0 or 2 with no
// stack trace from the binary.
// Reproduce: FUZZ_SEED=<printed seed>; FUZZ_CONFIG_COUNT / FUZZ_CONFIG_BINARY change the counts
// (bench/fuzz/run.mjs runs a long one).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config';
import { mapIniFile } from '../src/config/ini/map';
import { mappingToYaml } from '../src/config/ini/yaml';
import { ConfigError, type Config } from '../src/config/types';
import { MAX_DURATION_MS } from '../src/config/units';
import { processNames } from '../src/config/process-name';
import { processSpecs } from '../src/supervisor/process-names';
import { mutateIni, mutateYaml, rngFor } from './support/config-fuzz';
import { BUNDLE, tempDir } from './support/ringmaster';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const COUNT = Number(process.env.FUZZ_CONFIG_COUNT ?? 1000) || 1000;
const BINARY = Number(process.env.FUZZ_CONFIG_BINARY ?? 8) || 8;
const SLOW_MS = 2000;
const ENV = { HOME: '/root', PATH: '/usr/bin:/bin' };

/** What check/run would do with an accepted config, that must not throw: expand every process. */
function runWouldStart(config: Config): string | undefined {
  for (const p of config.programs) {
    try {
      const names = processNames(p);
      if (names.length !== p.numprocs || names.join('\0') !== p.processNames.join('\0')) return `accepted, but run would name ${p.name}'s processes ${JSON.stringify(names)}, not ${JSON.stringify(p.processNames)}`;
      if (processSpecs(p).length !== p.numprocs) return `accepted, but run would start ${processSpecs(p).length} processes of ${p.name}, not ${p.numprocs}`;
    } catch (err) {
      return `accepted, but run cannot expand ${p.name}: ${(err as Error).message}`;
    }
    for (const [k, v] of Object.entries({ startsecs: p.startsecsMs, stopwaitsecs: p.stopwaitsecsMs, backoffMax: p.backoff.maxMs, interval: p.healthcheck?.intervalMs ?? 0 })) {
      if (!(v >= 0 && v <= MAX_DURATION_MS)) return `accepted ${k} = ${v} ms, which no timer can hold`;
    }
  }
  if (!(config.settings.shutdownTimeoutMs <= MAX_DURATION_MS)) return 'accepted a shutdown_timeout no timer can hold';
  return undefined;
}

/** loadConfig as check calls it: a Config, or a ConfigError whose problems are all well-formed. */
let lastAccepted = false;
function checkInProcess(file: string, dir: string): string | undefined {
  let config: Config;
  lastAccepted = false;
  try {
    config = loadConfig({ file, env: ENV, cwd: dir });
    lastAccepted = true;
  } catch (err) {
    if (!(err instanceof ConfigError)) return `threw ${(err as Error).stack ?? err}`;
    if (err.problems.length === 0) return 'a ConfigError without problems';
    for (const p of err.problems) {
      if (!p.file || !(p.line >= 1) || !(p.col >= 1) || typeof p.message !== 'string' || p.message === '') return `a malformed problem: ${JSON.stringify(p)}`;
      if (/\n\s+at /.test(p.message)) return `a stack trace in a problem: ${p.message}`;
    }
    return undefined;
  }
  return runWouldStart(config);
}

interface Finding {
  kind: string;
  index: number;
  what: string;
  input: string;
}

function report(findings: Finding[]): string {
  return findings.slice(0, 5).map((f) => `FUZZ_SEED=${SEED} ${f.kind} #${f.index}: ${f.what}\n--- input:\n${f.input.slice(0, 2000)}`).join('\n\n');
}

describe(`config fuzzing (seed ${SEED}): check and convert never crash, hang or accept what run cannot start`, () => {
  const dir = tempDir('rm-config-fuzz-');
  writeFileSync(path.join(dir, '.env'), 'A=1\nB="two"\n');
  const figures: string[] = [];

  it(`${COUNT} mutated YAML configs through check, in process`, { timeout: 120_000 }, () => {
    const findings: Finding[] = [];
    const file = path.join(dir, 'fuzz.yaml');
    let accepted = 0;
    for (let i = 0; i < COUNT; i++) {
      const text = mutateYaml(rngFor(SEED, i));
      writeFileSync(file, text);
      const t0 = Date.now();
      const bad = checkInProcess(file, dir);
      const ms = Date.now() - t0;
      if (bad) findings.push({ kind: 'yaml', index: i, what: bad, input: text });
      else if (ms > SLOW_MS) findings.push({ kind: 'yaml', index: i, what: `took ${ms} ms`, input: text });
      else accepted += Number(lastAccepted);
    }
    figures.push(`yaml: ${COUNT} inputs, ${accepted} accepted`);
    assert.deepEqual(findings.length, 0, report(findings));
  });

  it(`${COUNT} mutated supervisord.conf files through convert and check, in process`, { timeout: 120_000 }, () => {
    const findings: Finding[] = [];
    const file = path.join(dir, 'fuzz.conf');
    for (let i = 0; i < COUNT; i++) {
      const text = mutateIni(rngFor(SEED ^ 0x5bd1e995, i));
      writeFileSync(file, text);
      const t0 = Date.now();
      let bad: string | undefined;
      try {
        const yaml = mappingToYaml(mapIniFile(file, text, ENV));
        if (typeof yaml !== 'string') bad = 'convert printed no text';
      } catch (err) {
        bad = `convert threw ${(err as Error).stack ?? err}`;
      }
      bad ??= checkInProcess(file, dir);
      const ms = Date.now() - t0;
      if (bad) findings.push({ kind: 'ini', index: i, what: bad, input: text });
      else if (ms > SLOW_MS) findings.push({ kind: 'ini', index: i, what: `took ${ms} ms`, input: text });
    }
    figures.push(`ini: ${COUNT} inputs`);
    assert.deepEqual(findings.length, 0, report(findings));
  });

  it(`${BINARY} of each through the built binary (check; convert for INI): exit 0 or 2, no stack trace, heap under 256 MB`, { timeout: 180_000 }, () => {
    const findings: Finding[] = [];
    const step = Math.max(1, Math.floor(COUNT / BINARY));
    for (let n = 0; n < BINARY; n++) {
      const i = n * step;
      for (const [kind, text, name] of [['yaml', mutateYaml(rngFor(SEED, i)), 'bin.yaml'], ['ini', mutateIni(rngFor(SEED ^ 0x5bd1e995, i)), 'bin.conf']] as const) {
        const file = path.join(dir, name);
        writeFileSync(file, text);
        const verbs = kind === 'ini' ? [['check', '-c', file], ['convert', file]] : [['check', '-c', file]];
        for (const args of verbs) {
          const r = spawnSync(process.execPath, ['--max-old-space-size=256', BUNDLE, ...args], { encoding: 'utf8', timeout: 30_000, env: ENV, cwd: dir, maxBuffer: 64 * 1024 * 1024 });
          const out = `${r.stdout}${r.stderr}`;
          if (r.status !== 0 && r.status !== 2) findings.push({ kind, index: i, what: `${args[0]} exited ${r.status ?? r.signal}: ${out.slice(-1500)}`, input: text });
          else if (/\n\s+at \S+ \(|\n\s+at .+:\d+:\d+\n/.test(out)) findings.push({ kind, index: i, what: `${args[0]} printed a stack trace: ${out.slice(-1500)}`, input: text });
          else if (r.status === 2 && args[0] === 'check' && !/:\d+:\d+: /.test(r.stderr)) findings.push({ kind, index: i, what: `check refused without FILE:LINE:COL: ${r.stderr.slice(0, 500)}`, input: text });
        }
      }
    }
    assert.deepEqual(findings.length, 0, report(findings));
  });

  it('stays within its memory (this process: RSS under 1 GB after every input)', () => {
    const rss = process.memoryUsage().rss / 1048576;
    const max = process.resourceUsage().maxRSS / 1024;
    figures.push(`RSS ${rss.toFixed(0)} MB now, ${max.toFixed(0)} MB at most`);
    process.stdout.write(`# config fuzz figures (seed ${SEED}): ${figures.join('; ')}\n`);
    assert.ok(max < 1024, `max RSS ${max.toFixed(0)} MB`);
  });
});
