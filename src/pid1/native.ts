import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NativeAddon } from './native-types';

const ADDON = 'ringmaster.node';

function dlopen(file: string): NativeAddon {
  const mod = { exports: {} as NativeAddon };
  process.dlopen(mod, file);
  return mod.exports;
}

/**
 * Inside the single executable the addon is an embedded asset: written to a temp file, loaded,
 * unlinked (the mapping survives). A noexec temp dir makes dlopen fail, so several are tried,
 * then a ringmaster.node beside the executable.
 */
function loadFromSea(): NativeAddon | null {
  let sea: { isSea(): boolean; getRawAsset(key: string): ArrayBuffer };
  try {
    sea = require('node:sea');
  } catch {
    return null;
  }
  if (!sea.isSea()) return null;
  const errors: string[] = [];
  const bytes = new Uint8Array(sea.getRawAsset(ADDON));
  for (const dir of [process.env.TMPDIR, tmpdir(), '/tmp', '/dev/shm', '/run']) {
    if (!dir) continue;
    let tmp: string | undefined;
    try {
      tmp = mkdtempSync(path.join(dir, 'ringmaster-'));
      const file = path.join(tmp, ADDON);
      writeFileSync(file, bytes, { mode: 0o700 });
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
  // The bundle dist/ringmaster.cjs has it beside itself; tests through tsx use the built one.
  const candidates = [path.join(__dirname, ADDON), path.resolve(__dirname, '..', '..', 'dist', ADDON)];
  for (const file of candidates) if (existsSync(file)) return dlopen(file);
  throw new Error(`native addon ${ADDON} not found (looked in ${candidates.join(', ')}); run \`npm run build\``);
}

let addon: NativeAddon | undefined;

/** The native addon, loaded on first use. */
export function native(): NativeAddon {
  addon ??= load();
  return addon;
}
