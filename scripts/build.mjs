// Build: native addon (native/ringmaster.c -> dist/ringmaster.node), bundle (src -> dist/ringmaster.cjs),
// and unless --no-sea, the single executable dist/ringmaster (a Node SEA with the addon embedded).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const work = path.join(root, 'build');
const withSea = !process.argv.includes('--no-sea');
mkdirSync(dist, { recursive: true });
mkdirSync(work, { recursive: true });

/** Runs a build tool quietly; on failure, throws with everything it printed. */
function run(file, args, what) {
  const r = spawnSync(file, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${file} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return `${r.stdout}${r.stderr}`;
}

/** Strips if `strip` is installed (the SEA: 99 MB -> 87 MB); a note, not an error, if it is not. */
function strip(file, mode) {
  const r = spawnSync('strip', [mode, file], { encoding: 'utf8' });
  if (r.error) console.warn(`build: strip not available (${r.error.message}); ${path.basename(file)} left unstripped`);
  else if (r.status !== 0) throw new Error(`strip ${mode} ${file} failed:\n${r.stderr}`);
}

// Plain cc, no node-gyp: one C file against Node's own headers takes a tenth of a second.
// Only napi_register_module_v1 needs to be visible (node_api.h marks it so).
// Built beside the target and renamed over it: a running ringmaster keeps its mapped copy.
function buildAddon() {
  const include = [process.env.NODE_INCLUDE_DIR, path.join(path.dirname(process.execPath), '..', 'include', 'node')]
    .find((dir) => dir && existsSync(path.join(dir, 'node_api.h')));
  if (!include) throw new Error('node_api.h not found: install Node\'s headers or set NODE_INCLUDE_DIR');
  const out = path.join(dist, 'ringmaster.node');
  const tmp = `${out}.tmp`;
  // The one C++ file (V8's API, no C++ runtime used: no exceptions, no RTTI) as an object first.
  const heapObject = path.join(work, 'v8-heap.o');
  const cxxWarnings = run(process.env.CXX || 'c++', ['-O2', '-std=c++17', '-fno-exceptions', '-fno-rtti', '-fvisibility=hidden', '-fPIC',
    '-Wall', '-Wno-unused-parameter', `-I${include}`, '-c', '-o', heapObject, path.join(root, 'native', 'v8-heap.cc')], 'compiling native/v8-heap.cc');
  const warnings = run(process.env.CC || 'cc', ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-fvisibility=hidden',
    '-shared', '-fPIC', `-I${include}`, '-o', tmp, path.join(root, 'native', 'ringmaster.c'), heapObject], 'compiling native/ringmaster.c');
  if ((cxxWarnings + warnings).trim()) process.stderr.write(cxxWarnings + warnings);
  strip(tmp, '--strip-unneeded');
  renameSync(tmp, out);
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
  asciiOnly(path.join(dist, 'ringmaster.cjs'));
}

/**
 * One non-ASCII character makes V8 hold the whole bundle's source as a two-byte string, for the
 * life of the process: 0.8 MB more resident than one byte per character (issue #17). esbuild
 * escapes them in strings (charset: 'ascii', its default) but not in regexp literals nor in the
 * comments it keeps. \uXXXX (per UTF-16 unit) means the same character in a string, a template
 * and a regexp with or without the u flag, and is inert text in a comment.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
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
    // V8's code cache of the bundle, made at build time: start-up skips compiling it (~25 ms).
    useCodeCache: true,
    assets: { 'ringmaster.node': path.join(dist, 'ringmaster.node') },
  }));
  run(process.execPath, ['--experimental-sea-config', config], 'writing the SEA blob');
  const exe = path.join(dist, 'ringmaster');
  const tmp = `${exe}.tmp`;
  copyFileSync(process.execPath, tmp);
  chmodSync(tmp, 0o755);
  strip(tmp, '--strip-all');
  prepareNodeBinary(tmp);
  // postject warns about the stripped binary's notes ("Can't find string offset for section
  // name '.note.100'"): harmless, so its output is shown only when it fails.
  const postject = path.join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  run(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], 'postject');
  renameSync(tmp, exe); // a running dist/ringmaster keeps its old inode (no ETXTBSY)
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
