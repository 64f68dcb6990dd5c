import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NativeAddon } from './native-types';

/*
 * Loads native/ringmaster.c's addon once, from wherever this code runs:
 *   the single executable   its embedded asset (or a ringmaster.node beside the executable);
 *   dist/ringmaster.cjs     the ringmaster.node built beside it;
 *   src/ through tsx        <repo>/dist/ringmaster.node (tests: `node scripts/build.mjs --no-sea`).
 * process.dlopen, never require: inside a SEA require() loads only builtins.
 */

const ADDON = 'ringmaster.node';

function dlopen(file: string): NativeAddon {
  const mod = { exports: {} as NativeAddon };
  process.dlopen(mod, file);
  return mod.exports;
}

/**
 * Inside the single executable: the asset is written to a temp file, loaded and unlinked (the
 * mapping survives). dlopen fails on a noexec mount (Docker's /dev/shm, often /tmp in hardened
 * pods), so several directories are tried, then a ringmaster.node beside the executable.
 */
function loadFromSea(): NativeAddon | null {
  let sea: { isSea(): boolean; getRawAsset(key: string): ArrayBuffer };
  try {
    sea = require('node:sea');
  } catch {
    return null; // Node without SEA support: not a single executable
  }
  if (!sea.isSea()) return null;
  const errors: string[] = [];
  let bytes: Uint8Array | undefined;
  try {
    bytes = new Uint8Array(sea.getRawAsset(ADDON));
  } catch (err) {
    errors.push(`asset: ${(err as Error).message}`);
  }
  const dirs = [...new Set([process.env.TMPDIR, tmpdir(), '/tmp', '/dev/shm', '/run'].filter(Boolean) as string[])];
  for (const dir of bytes ? dirs : []) {
    let tmp: string | undefined;
    try {
      tmp = mkdtempSync(path.join(dir, 'ringmaster-'));
      const file = path.join(tmp, ADDON);
      writeFileSync(file, bytes!, { mode: 0o700 });
      return dlopen(file);
    } catch (err) {
      errors.push(`${dir}: ${(err as Error).message}`);
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
  }
  const beside = path.join(path.dirname(process.execPath), ADDON);
  if (existsSync(beside)) return dlopen(beside);
  throw new Error(`cannot load the embedded native addon (${errors.join('; ')}); put ${ADDON} beside ${process.execPath}`);
}

function load(): NativeAddon {
  const fromSea = loadFromSea();
  if (fromSea) return fromSea;
  const candidates = [path.join(__dirname, ADDON), path.resolve(__dirname, '..', '..', 'dist', ADDON)];
  for (const file of candidates) if (existsSync(file)) return dlopen(file);
  throw new Error(`native addon ${ADDON} not found (looked in ${candidates.join(', ')}); run \`node scripts/build.mjs --no-sea\``);
}

let addon: NativeAddon | undefined;
const loaded = (): NativeAddon => (addon ??= load());

/**
 * The addon. Loaded on first use, not at import: modules that only import spawn.ts (config
 * checks, unit tests) work without a built addon.
 */
export const native: NativeAddon = {
  spawn: (options) => loaded().spawn(options),
  reap: (pid) => loaded().reap(pid),
  peek: () => loaded().peek(),
  setSubreaper: () => loaded().setSubreaper(),
  notifyOpen: (address, onMessage, mode) => loaded().notifyOpen(address, onMessage, mode),
  listen: (options) => loaded().listen(options),
  trimMemory: () => loaded().trimMemory(),
  reduceHeap: () => loaded().reduceHeap(),
  countLines: (chunk, from, to, maxLine) => loaded().countLines(chunk, from, to, maxLine),
  prefixLines: (chunk, from, to, prefix, out, at) => loaded().prefixLines(chunk, from, to, prefix, out, at),
};
