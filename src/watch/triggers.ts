// What a watched change does (SPEC §11): `watch:` restarts or signals its program's running
// processes, through the one door (SupervisorApi) like any front end; `settings.watch_config`
// reloads the config as SIGHUP does (a bad config is reported and changes nothing).
import type { ProgramConfig, WatchConfig } from '../config/types';
import type { SupervisorApi } from '../supervisor/api';
import type { Log } from '../types';
import { PathWatcher } from './path-watcher';

const UP = new Set(['STARTING', 'RUNNING', 'BACKOFF']);

export class ProgramWatches {
  private readonly watches = new Map<string, { key: string; watcher: PathWatcher }>();

  constructor(
    private readonly api: SupervisorApi,
    private readonly log: Log,
  ) {}

  /** Watch what the programs now ask for: unchanged watches stay, others are set or closed. */
  update(programs: readonly ProgramConfig[]): void {
    const wanted = new Map(programs.filter((p) => p.watch).map((p) => [p.name, p.watch!]));
    for (const [name, w] of this.watches) {
      const next = wanted.get(name);
      if (!next || JSON.stringify(next) !== w.key) {
        w.watcher.close();
        this.watches.delete(name);
      }
    }
    for (const [name, watch] of wanted) {
      if (this.watches.has(name)) continue;
      const watcher = new PathWatcher(watch.paths, watch.debounceMs, (what) => void this.act(name, watch, what));
      this.watches.set(name, { key: JSON.stringify(watch), watcher });
    }
  }

  close(): void {
    for (const w of this.watches.values()) w.watcher.close();
    this.watches.clear();
  }

  private async act(program: string, watch: WatchConfig, what: string): Promise<void> {
    try {
      const targets = (await this.api.list()).filter((p) => p.program === program && UP.has(p.state));
      const doing = watch.action.kind === 'restart' ? 'restarting' : `sending ${watch.action.signal.replace(/^SIG/, '')}`;
      if (targets.length === 0) return this.log(`${program}: ${what} changed; not running, nothing to do`);
      this.log(`${program}: ${what} changed: ${doing}`);
      for (const t of targets) {
        if (watch.action.kind === 'restart') await this.api.restart(t.namespec);
        else await this.api.signal(t.namespec, watch.action.signal);
      }
    } catch (err) {
      this.log(`${program}: acting on the change of ${what} failed: ${(err as Error).message}`, 'error');
    }
  }
}

/** `settings.watch_config: true`: the config's files, reloaded after a change. */
export class ConfigWatch {
  private watcher: PathWatcher | undefined;
  private key = '';

  constructor(
    private readonly reload: () => Promise<unknown>,
    private readonly log: Log,
    private readonly debounceMs = 500,
  ) {}

  /** Watch these files (the config's, as last read); the same list keeps its watch. */
  update(files: readonly string[]): void {
    const key = files.join('\n');
    if (key === this.key) return;
    this.key = key;
    this.watcher?.close();
    // `<RINGMASTER_CONFIG_YAML>` and `env:` sources are not files.
    const paths = files.filter((f) => f.startsWith('/'));
    this.watcher = paths.length === 0 ? undefined : new PathWatcher(paths, this.debounceMs, (what) => {
      this.log(`${what} changed: reloading the config (watch_config)`);
      // The reload reports a refused config itself.
      void this.reload().catch(() => {});
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
