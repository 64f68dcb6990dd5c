import { constants } from 'node:os';
import type { Settings } from '../config/types';

/**
 * Signal policy of ringmaster, in one place (SPEC §4).
 *
 * The kernel drops every default-action signal sent to a PID namespace's init, so as PID 1 a
 * signal ringmaster has no listener for is silently ignored. Here every signal gets a deliberate
 * action instead:
 *
 * | signal                                   | supervisor mode (`run`)            | single-command mode (`-- CMD`)       |
 * |------------------------------------------|------------------------------------|--------------------------------------|
 * | TERM INT QUIT                            | shutdown (second one: kill now)    | forwarded, then grace, then SIGKILL  |
 * | HUP                                      | reload (until it exists: forwarded)| forwarded                            |
 * | USR1 USR2 WINCH (`forward_signals`)      | forwarded to every program's group | forwarded                            |
 * |   (USR2 with log files, by default)      | reopens the log files only         |                                      |
 * | TSTP CONT                                | TSTP ignored; CONT not acted on    | forwarded (tini: Ctrl-Z stops the command, not the init) |
 * | TTIN TTOU                                | ignored                            | ignored, like tini                   |
 * | ABRT TRAP (sent with kill())             | as below                           | forwarded (a kill() from outside is not a crash of ours) |
 * | ALRM PIPE VTALRM PROF XCPU XFSZ IO URG PWR STKFLT | PID 1: logged and ignored; else fatal via the failsafe | forwarded                   |
 * | SEGV BUS FPE ILL SYS                     | never listened to: a real fault must kill ringmaster (as in tini) |                |
 * | CHLD                                     | the reaper's                       | the reaper's                         |
 *
 * Every signal is rewritten by `signal_rewrite` before it is forwarded (dumb-init's -r).
 * A JS listener on SIGUSR1 replaces Node's inspector handler, so SIGUSR1 never opens a debugger;
 * that is why USR1 has a listener in both modes from the first moment on.
 * Real-time signals have no names in Node and cannot be listened to.
 */

/** Synchronous fault signals: a listener would make a real fault loop or hang, so none is installed. */
export const FAULT_SIGNALS: readonly NodeJS.Signals[] = ['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGSYS'];

/** Start a shutdown (supervisor) or a grace period (single-command mode). */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/** Job-control signals that would stop ringmaster itself when it is not PID 1; tini ignores them. */
export const TTY_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTTIN', 'SIGTTOU'];

/**
 * Every signal a JS listener can catch, one name per number (SIGIOT = SIGABRT and SIGPOLL = SIGIO
 * are aliases), without KILL/STOP (uncatchable), CHLD (the reaper's) and the fault signals.
 */
export const CATCHABLE_SIGNALS: readonly NodeJS.Signals[] = (() => {
  const skip = new Set<string>(['SIGKILL', 'SIGSTOP', 'SIGCHLD', ...FAULT_SIGNALS]);
  const seen = new Set<number>();
  const out: NodeJS.Signals[] = [];
  for (const [name, num] of Object.entries(constants.signals) as Array<[NodeJS.Signals, number]>) {
    if (skip.has(name) || seen.has(num)) continue;
    seen.add(num);
    out.push(name);
  }
  return out.sort((a, b) => constants.signals[a] - constants.signals[b]);
})();

export type SignalRewrite = Partial<Record<NodeJS.Signals, NodeJS.Signals | null>>;

/** What a program receives instead of `sig` (`null`: the signal is dropped). */
export function rewriteSignal(rewrite: SignalRewrite, sig: NodeJS.Signals): NodeJS.Signals | null {
  return sig in rewrite ? (rewrite[sig] ?? null) : sig;
}

/** Adds listeners and remembers them, so one call removes them all. */
class Listeners {
  private installed: Array<[NodeJS.Signals, () => void]> = [];
  on(sig: NodeJS.Signals, fn: () => void): void {
    process.on(sig, fn);
    this.installed.push([sig, fn]);
  }
  has(sig: NodeJS.Signals): boolean {
    return this.installed.some(([s]) => s === sig);
  }
  /**
   * Node emits a signal under every name it has (SIGABRT and SIGIOT, SIGIO and SIGPOLL), each
   * name with its own listeners. An alias with no listener of ours would leave signal-exit (the
   * failsafe) alone on it, and it would act as if the signal were fatal: give aliases a no-op.
   */
  coverAliases(): void {
    const numbers = new Set(this.installed.map(([s]) => constants.signals[s]));
    for (const [name, num] of Object.entries(constants.signals) as Array<[NodeJS.Signals, number]>) {
      if (numbers.has(num) && !this.has(name)) this.on(name, () => {});
    }
  }
  removeAll(): void {
    for (const [sig, fn] of this.installed) process.off(sig, fn);
    this.installed = [];
  }
}

export interface SignalActions {
  /** TERM, INT, QUIT: start a shutdown (a second one kills at once). */
  shutdown(sig: NodeJS.Signals): void;
  /** Send `sig` (already rewritten) on to every running program's process group. */
  forward(sig: NodeJS.Signals): void;
  /** HUP: re-read the config. Until a reload exists, HUP is forwarded instead. */
  reload?(): void;
  /** A signal that is deliberately ignored (as PID 1): say so, e.g. in a log line. */
  ignored?(sig: NodeJS.Signals): void;
}

/**
 * Supervisor mode (`ringmaster run`). Returns a function removing every listener.
 *
 * When ringmaster is not PID 1, the signals without an action here keep their default (fatal)
 * meaning, and the failsafe takes the programs down before ringmaster dies of them. As PID 1 the
 * kernel would drop them anyway; they get a listener that says they were ignored, so nothing (in
 * particular not signal-exit's re-raise) acts on them half-way.
 */
export function installSignalHandlers(settings: Settings, actions: SignalActions): () => void {
  const listeners = new Listeners();
  const rewrite = settings.signalRewrite as SignalRewrite;
  const forward = (sig: NodeJS.Signals) => {
    const sent = rewriteSignal(rewrite, sig);
    if (sent) actions.forward(sent);
  };

  for (const sig of SHUTDOWN_SIGNALS) listeners.on(sig, () => actions.shutdown(sig));
  const reload = actions.reload;
  if (reload) listeners.on('SIGHUP', () => reload());
  const forwarded = new Set<NodeJS.Signals>(settings.forwardSignals);
  if (!reload) forwarded.add('SIGHUP');
  for (const sig of [...SHUTDOWN_SIGNALS, 'SIGCHLD', 'SIGKILL', 'SIGSTOP', ...FAULT_SIGNALS]) forwarded.delete(sig as NodeJS.Signals);
  if (reload) forwarded.delete('SIGHUP');
  for (const sig of forwarded) listeners.on(sig, () => forward(sig));

  const ignore = (sig: NodeJS.Signals) => listeners.on(sig, () => actions.ignored?.(sig));
  // A terminal's job control never stops the supervisor itself, and USR1 never opens the inspector.
  for (const sig of ['SIGTSTP', ...TTY_STOP_SIGNALS, 'SIGUSR1'] as NodeJS.Signals[]) {
    if (!listeners.has(sig)) ignore(sig);
  }
  if (process.pid === 1) {
    // SIGPIPE stays at Node's SIG_IGN: a listener would turn every write to a closed pipe into an event.
    for (const sig of CATCHABLE_SIGNALS) if (sig !== 'SIGPIPE' && !listeners.has(sig)) ignore(sig);
  }
  listeners.coverAliases();
  return () => listeners.removeAll();
}

/**
 * Single-command mode: one listener for every catchable signal (CATCHABLE_SIGNALS), so the caller
 * decides for each what to do. Returns a function removing them all.
 */
export function listenToEverySignal(handler: (sig: NodeJS.Signals) => void): () => void {
  const listeners = new Listeners();
  for (const sig of CATCHABLE_SIGNALS) listeners.on(sig, () => handler(sig));
  listeners.coverAliases();
  return () => listeners.removeAll();
}
