// SPEC §10: one run of a process with a `ready:` method. It is STARTING until the program says it
// is ready (startsecs does not apply), for at most ready_timeout; then, with `watchdog`, every
// WATCHDOG=1 must come within that interval of the last one.
import type { ReadyConfig } from '../config/types';
import type { ReadyNotice, ReadySource } from '../types';

export interface ReadyHooks {
  ready(how: string): void;
  status(text: string): void;
  mainPid(pid: number): void;
  /** Not ready within ready_timeout. */
  timedOut(limit: string): void;
  /** No WATCHDOG=1 for `watchdog` after ready (or the last ping). */
  watchdogMissed(limit: string): void;
}

export class ReadyWait {
  private readyTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private isReady = false;
  private closed = false;

  constructor(
    private readonly config: ReadyConfig,
    private readonly source: ReadySource | undefined,
    private readonly hooks: ReadyHooks,
  ) {
    const ms = config.timeoutMs;
    if (ms !== undefined) this.readyTimer = setTimeout(() => !this.closed && hooks.timedOut(seconds(ms)), ms);
    source?.listen((n) => this.onNotice(n));
  }

  /** What it waits for, in words (the description while STARTING). */
  static waitingFor(config: ReadyConfig): string {
    const m = config.method;
    return m.kind === 'notify' ? 'waiting for READY=1' : m.kind === 'fd' ? `waiting for a newline on fd ${m.fd}` : `waiting for ${m.path}`;
  }

  private onNotice(n: ReadyNotice): void {
    if (this.closed) return;
    switch (n.kind) {
      case 'ready':
        if (this.isReady) return;
        this.isReady = true;
        if (this.readyTimer) clearTimeout(this.readyTimer);
        this.readyTimer = undefined;
        this.armWatchdog();
        this.hooks.ready(READY_WORDS[this.config.method.kind]);
        return;
      case 'watchdog':
        if (this.isReady) this.armWatchdog();
        return;
      case 'status':
        this.hooks.status(n.text);
        return;
      case 'mainpid':
        this.hooks.mainPid(n.pid);
        return;
      case 'stopping':
        // The program is on its way down on its own: its pings stop, which is no failure.
        if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
        this.watchdogTimer = undefined;
        return;
    }
  }

  private armWatchdog(): void {
    const ms = this.config.watchdogMs;
    if (ms === undefined) return;
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = setTimeout(() => !this.closed && this.hooks.watchdogMissed(seconds(ms)), ms);
  }

  /** The run is over (exit, stop): no timer and no socket outlives it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.readyTimer) clearTimeout(this.readyTimer);
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.readyTimer = this.watchdogTimer = undefined;
    this.source?.close();
  }
}

const READY_WORDS: Record<ReadyConfig['method']['kind'], string> = {
  notify: 'READY=1',
  fd: 'a newline on its notification fd',
  file: 'its ready file',
};

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}
