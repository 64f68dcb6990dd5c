// A memory cgroup a test makes for itself (SPEC §10 OOM attribution): v1's memory hierarchy or
// v2's, under the test's own cgroup where it may (else the root), with a hard limit and no swap.
// Where the machine allows neither, the reason, for `skip`.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCgroup {
  dir: string;
  version: 1 | 2;
  /** Remove it (its processes must be gone). */
  remove(): void;
}

function tryWrite(file: string, text: string): boolean {
  try {
    writeFileSync(file, text);
    return true;
  } catch {
    return false;
  }
}

/** Our cgroup path in the hierarchy: v1's memory line, or v2's `0::` line. */
function ownPath(version: 1 | 2): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [id, controllers, p] = line.split(':');
    if (version === 1 && controllers?.split(',').includes('memory')) return p;
    if (version === 2 && id === '0' && controllers === '') return p;
  }
  return undefined;
}

/** A fresh memory cgroup limited to `limitBytes`, or a string saying why there cannot be one. */
export function makeMemoryCgroup(name: string, limitBytes: number): TestCgroup | string {
  if (process.getuid?.() !== 0) return 'making a cgroup needs root';
  const v1Root = '/sys/fs/cgroup/memory';
  const v1Own = ownPath(1);
  if (v1Own !== undefined && existsSync(path.join(v1Root, 'memory.limit_in_bytes'))) {
    for (const base of [path.join(v1Root, v1Own), v1Root]) {
      const dir = path.join(base, name);
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
      if (tryWrite(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes))) {
        tryWrite(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)); // absent without swap accounting
        return { dir, version: 1, remove: () => rmdirSync(dir) };
      }
      rmdirSync(dir);
    }
    return `cannot make a v1 memory cgroup under ${v1Root}`;
  }
  const v2Root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  const v2Own = ownPath(2);
  if (v2Own === undefined || !existsSync(path.join(v2Root, 'cgroup.controllers'))) return 'no cgroup v1 memory controller and no cgroup v2 hierarchy';
  // v2's "no internal processes" rule: the memory controller can be handed down only by a
  // cgroup without processes of its own (or the root), so try our own, then the root.
  for (const base of [...new Set([path.join(v2Root, v2Own), v2Root])]) {
    tryWrite(path.join(base, 'cgroup.subtree_control'), '+memory');
    const dir = path.join(base, name);
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    if (existsSync(path.join(dir, 'memory.max')) && tryWrite(path.join(dir, 'memory.max'), String(limitBytes))) {
      tryWrite(path.join(dir, 'memory.swap.max'), '0');
      return { dir, version: 2, remove: () => rmdirSync(dir) };
    }
    rmdirSync(dir);
  }
  return `the cgroup v2 memory controller cannot be enabled for a child cgroup here (${v2Root})`;
}
