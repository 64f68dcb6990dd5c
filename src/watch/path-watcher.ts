// Change detection for `watch:` and `settings.watch_config` (SPEC §11), on inotify through
// fs.watch, with no polling. fs.watch on a file follows its inode, so it goes blind when the file
// is replaced by a rename (editors, `kubectl cp`, atomic writers) or a symlink to it is swapped
// (Kubernetes ConfigMap and Secret volumes swap their `..data` symlink). So what is watched is
// the parent directory, where every such change shows as an event naming the entry:
//   - the path's own name: written in place, replaced by rename, created, removed;
//   - a name starting with `..`: Kubernetes' atomic writer (`..data_tmp` renamed over `..data`);
//   - a directory path is watched itself too (a change of any entry in it);
//   - a symlink's target is watched in its own directory too (written in place behind the link);
//   - a path that does not exist yet: its nearest existing ancestor, for the next name down.
// Every watch is set again after each change (a directory may itself have been replaced), and a
// burst of events gives one call after `debounceMs` of quiet.
import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export class PathWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** What changed first in the current burst, for the log line. */
  private first: string | null = null;

  constructor(
    private readonly paths: readonly string[],
    private readonly debounceMs: number,
    private readonly onChange: (what: string) => void,
  ) {
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.disarm();
  }

  private disarm(): void {
    for (const w of this.watchers.splice(0)) w.close();
  }

  private arm(): void {
    this.disarm();
    for (const p of this.paths) this.watchPath(p);
  }

  private watchPath(target: string): void {
    let isDir = false;
    try {
      isDir = statSync(target).isDirectory();
    } catch {
      // Not there (yet): wait for it below its nearest existing ancestor.
      return this.watchAncestor(target);
    }
    if (isDir) this.add(target, () => true, target);
    const dir = path.dirname(target);
    const name = path.basename(target);
    this.add(dir, (entry) => entry === name || entry.startsWith('..'), target);
    try {
      const real = realpathSync(target);
      if (real !== target && !isDir) this.add(path.dirname(real), (entry) => entry === path.basename(real), target);
    } catch {
      /* a dangling link: its parent's events will tell when it points somewhere again */
    }
  }

  private watchAncestor(target: string): void {
    let child = target;
    for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
      const want = path.basename(child);
      try {
        if (statSync(dir).isDirectory()) return this.add(dir, (entry) => entry === want, target);
      } catch {
        /* not there either: one level up */
      }
      if (dir === path.dirname(dir)) return;
      child = dir;
    }
  }

  private add(dir: string, relevant: (entry: string) => boolean, target: string): void {
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false });
    } catch {
      return; // gone meanwhile, or no permission: the parent's watch (if any) re-arms us
    }
    // A watched directory removed or unmounted: look again after the quiet time.
    w.on('error', () => this.changed(target));
    w.on('change', (_event, entry) => {
      // Without a name (rare, on overflow) every event counts.
      if (entry === null || relevant(String(entry))) this.changed(target);
    });
    this.watchers.push(w);
  }

  private changed(target: string): void {
    if (this.closed) return;
    this.first ??= target;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const what = this.first!;
      this.first = null;
      if (this.closed) return;
      this.arm();
      this.onChange(what);
    }, this.debounceMs);
  }
}
