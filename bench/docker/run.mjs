// `docker stop` of ringmaster's image with 1, 10 and 100 programs, in a real engine (issue #13):
// ms from `docker stop` (default -t 10) to its return, the container's exit code checked (0).
// Also the image's size and what a pull transfers (the layers, gzipped as a registry stores them).
// Usage: node bench/docker/run.mjs [--rounds N]      (root; scripts/docker-env.sh brings the engine up)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const up = spawnSync('bash', [path.join(root, 'scripts', 'docker-env.sh'), 'up', '--lease', String(process.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (up.status !== 0) process.exit(up.status ?? 1);
const env = { ...process.env };
for (const m of up.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = m[2];
const docker = (...args) => execFileSync(env.DOCKER, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });

try {
  docker('build', '--network=host', '-t', 'ringmaster', root);
  const results = [];
  for (const n of [1, 10, 100]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-bench-docker-'));
    chmodSync(dir, 0o755);
    const file = path.join(dir, 'ringmaster.yaml');
    writeFileSync(file, `programs:\n  p: {command: [sleep, "1000"], numprocs: ${n}, process_name: "%(program_name)s_%(process_num)03d"}\n`, { mode: 0o644 });
    const times = [];
    for (let r = 0; r < rounds; r++) {
      const name = `rmbench-${process.pid}-${n}-${r}`;
      docker('run', '-d', '--name', name, '--network=none', '-v', `${file}:/etc/ringmaster.yaml:ro`, 'ringmaster');
      try {
        const until = Date.now() + 120_000;
        while ((docker('logs', name).match(/entered RUNNING/g) ?? []).length < n) {
          if (Date.now() > until) throw new Error(`${n} programs not RUNNING within 120 s`);
          await sleep(200);
        }
        const t0 = process.hrtime.bigint();
        docker('stop', name);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const code = docker('inspect', '--format', '{{.State.ExitCode}}', name).trim();
        if (code !== '0') throw new Error(`exit code ${code} with ${n} programs`);
      } finally {
        spawnSync(env.DOCKER, ['rm', '-f', name], { env, stdio: 'ignore' });
      }
    }
    times.sort((a, b) => a - b);
    results.push({ programs: n, median: times[Math.floor(times.length / 2)], all: times });
  }
  console.log('| programs | docker stop, median (ms) | all rounds (ms) |\n|---|---|---|');
  for (const r of results) console.log(`| ${r.programs} | ${r.median.toFixed(0)} | ${r.all.map((t) => t.toFixed(0)).join(', ')} |`);

  const size = (image) => Number(docker('image', 'inspect', '--format', '{{.Size}}', image).trim());
  const pulled = (image) => {
    // What a registry stores and a pull moves: each layer gzipped (docker save gives them raw).
    const r = spawnSync('sh', ['-c', `"${env.DOCKER}" save ${image} | gzip -6 | wc -c`], { env, encoding: 'utf8' });
    return Number(r.stdout.trim());
  };
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  console.log(`\nimage ringmaster: ${mb(size('ringmaster'))} (base debian:bookworm-slim here ${mb(size('debian:bookworm-slim'))}), gzipped for a pull ${mb(pulled('ringmaster'))} (base ${mb(pulled('debian:bookworm-slim'))})`);
} finally {
  spawnSync('bash', [path.join(root, 'scripts', 'docker-env.sh'), 'down', '--lease', String(process.pid)], { stdio: 'inherit' });
}
