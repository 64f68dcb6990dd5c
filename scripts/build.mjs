// Build: native addon (native/ringmaster.c -> dist/ringmaster.node), bundle (src -> dist/ringmaster.cjs),
// and unless --no-sea, the single executable dist/ringmaster (Node SEA with the addon embedded).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
mkdirSync(dist, { recursive: true });

function buildAddon() {
  const src = path.join(root, 'native', 'ringmaster.c');
  if (!existsSync(src)) return;
  const include = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-shared', '-fPIC', `-I${include}`,
    '-o', path.join(dist, 'ringmaster.node'), src], { stdio: 'inherit' });
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

buildAddon();
await buildBundle();
