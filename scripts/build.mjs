// Build: native addon (native/ringmaster.c -> dist/ringmaster.node), bundle (src -> dist/ringmaster.cjs),
// and unless --no-sea, the single executable dist/ringmaster (a Node SEA with the addon embedded).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const work = path.join(root, 'build');
const withSea = !process.argv.includes('--no-sea');
mkdirSync(dist, { recursive: true });
mkdirSync(work, { recursive: true });

// Plain cc, no node-gyp: 45 lines of C against Node's own headers take 0.1 s.
function buildAddon() {
  const include = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const out = path.join(dist, 'ringmaster.node');
  execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-shared', '-fPIC', `-I${include}`, '-o', out,
    path.join(root, 'native', 'ringmaster.c')], { stdio: 'inherit' });
  spawnSync('strip', ['--strip-unneeded', out], { stdio: 'ignore' });
}

async function buildBundle() {
  await build({
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    outfile: path.join(dist, 'ringmaster.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  });
}

// Node's single-executable recipe: a blob with the bundle and the addon as an asset, injected
// into a (stripped) copy of this node binary.
function buildSea() {
  const config = path.join(work, 'sea-config.json');
  const blob = path.join(work, 'sea-prep.blob');
  writeFileSync(config, JSON.stringify({
    main: path.join(dist, 'ringmaster.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    assets: { 'ringmaster.node': path.join(dist, 'ringmaster.node') },
  }));
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exe = path.join(dist, 'ringmaster');
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  spawnSync('strip', ['--strip-all', exe], { stdio: 'ignore' });
  prepareNodeBinary(exe);
  const postject = path.join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  const r = spawnSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob,
    '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postject failed:\n${r.stdout}${r.stderr}`);
}

/** Hook for changes to the copied node binary before the blob goes in (see below). */
function prepareNodeBinary(_exe) {}

buildAddon();
await buildBundle();
if (withSea) buildSea();
