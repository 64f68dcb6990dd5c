import type { Settings } from '../config/types';

export interface SignalActions {
  /** TERM, INT, QUIT: start a shutdown (a second one kills at once). */
  shutdown(sig: NodeJS.Signals): void;
  /** Send `sig` on to every running program's process group. */
  forward(sig: NodeJS.Signals): void;
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/**
 * Listeners for every signal that matters, so that as PID 1 nothing is dropped by accident
 * (the kernel ignores default-action signals for a namespace's init) and, when not PID 1, a
 * job-control signal never stops ringmaster itself. Returns a function removing them all.
 *
 * A JS listener on SIGUSR1 also replaces Node's own handler, so SIGUSR1 never opens the inspector.
 */
export function installSignalHandlers(settings: Settings, actions: SignalActions): () => void {
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  const on = (sig: NodeJS.Signals, fn: () => void) => {
    process.on(sig, fn);
    installed.push([sig, fn]);
  };
  const rewrite = (sig: NodeJS.Signals): NodeJS.Signals => settings.signalRewrite[sig] ?? sig;

  for (const sig of SHUTDOWN_SIGNALS) on(sig, () => actions.shutdown(sig));
  // HUP will reload the config once reloading exists; until then it is forwarded, like tini does.
  const forwarded = new Set<NodeJS.Signals>([...settings.forwardSignals, 'SIGHUP']);
  for (const sig of SHUTDOWN_SIGNALS) forwarded.delete(sig);
  for (const sig of forwarded) on(sig, () => actions.forward(rewrite(sig)));
  // Never let a terminal's job control stop the supervisor itself.
  for (const sig of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as NodeJS.Signals[]) {
    if (!forwarded.has(sig)) on(sig, () => {});
  }
  if (!forwarded.has('SIGUSR1')) on('SIGUSR1', () => {});

  return () => {
    for (const [sig, fn] of installed) process.off(sig, fn);
  };
}
