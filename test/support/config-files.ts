// Helpers for the config tests: real temp files and the problems a load reports.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, formatProblem } from '../../src/config/types';

export function dir(prefix = 'rm-config-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Write `text` to `name` under `d` (subdirectories made as needed); returns the path. */
export function write(d: string, name: string, text: string): string {
  const file = path.join(d, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** The formatted problems of the ConfigError `fn` throws; fails when it throws none. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
  assert.fail('expected a ConfigError');
}
