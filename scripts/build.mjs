// Build: native addon (native/ringmaster.c -> dist/ringmaster.node), bundle (src -> dist/ringmaster.cjs),
// and unless --no-sea, the single executable dist/ringmaster (a Node SEA with the addon embedded).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * SPEC §4: a NODE_OPTIONS meant for the programs must neither change nor break ringmaster.
 * The SEA is a node binary and node's C++ startup reads NODE_OPTIONS (SafeGetenv("NODE_OPTIONS"))
 * before any of our JS runs: `--require /nonexistent.js` kills it, `--inspect` opens a debugger
 * in PID 1, `--max-old-space-size` changes it. Node 20 has no switch to turn that off (the
 * kDisableNodeOptionsEnv flag exists only for embedders), and a re-exec cannot help because the
 * first start is already affected.
 *
 * So the copy of node used for the SEA gets that one C string renamed to RM_NODE_OPTS (same
 * length, so no offset moves; the code that reads it is untouched). Only a NUL-delimited
 * "NODE_OPTIONS" counts, and not the look-alikes in V8's startup snapshot, which carry their
 * length (12, as a little-endian uint32) just in front and are guarded by a checksum; the JS
 * sources that mention NODE_OPTIONS (cluster, workers, --help) are not NUL-delimited and stay as
 * they are. Programs still receive NODE_OPTIONS: ringmaster passes its environment on unchanged.
 * RM_NODE_OPTS is then what the single executable reads, for debugging ringmaster itself.
 * The build fails, rather than ship an unpatched binary, if the string is not found exactly once
 * (a new Node version laid out differently); test/container-single.test.ts proves the effect.
 * The bundle `node dist/ringmaster.cjs` still honours NODE_OPTIONS: there node is the user's.
 */
function prepareNodeBinary(exe) {
  const data = readFileSync(exe);
  const needle = Buffer.from('\0NODE_OPTIONS\0', 'latin1');
  const hits = [];
  for (let i = data.indexOf(needle); i !== -1; i = data.indexOf(needle, i + 1)) {
    const snapshotString = i >= 3 && data.readUInt32LE(i - 3) === 12;
    if (!snapshotString) hits.push(i + 1);
  }
  if (hits.length !== 1) {
    throw new Error(`NODE_OPTIONS patch: expected one C string "NODE_OPTIONS" in ${exe}, found ${hits.length}; ` +
      'see prepareNodeBinary in scripts/build.mjs');
  }
  data.write('RM_NODE_OPTS', hits[0], 'latin1');
  writeFileSync(exe, data);
}

buildAddon();
await buildBundle();
if (withSea) buildSea();
