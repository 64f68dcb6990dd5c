import { onExit } from 'signal-exit';
import type { Log } from '../types';

/**
 * SPEC §4: if ringmaster itself fails (an uncaught error, a fatal signal it can catch), its
 * programs' process groups go down with it. `killEverything` must be synchronous.
 *
 * signal-exit covers the catchable fatal signals ringmaster has no listener of its own for; as
 * PID 1 those would be dropped by the kernel anyway, so there they simply change nothing.
 */
export function installFailsafe(killEverything: () => void, log: Log): () => void {
  let done = false;
  const takeDown = () => {
    if (done) return;
    done = true;
    killEverything();
  };
  const onFatal = (err: unknown) => {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`internal error, stopping every program: ${detail}`, 'error');
    takeDown();
    process.exit(70);
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  const removeExitHook = onExit((code, signal) => {
    if (signal) log(`received fatal ${signal}: stopping every program`, 'error');
    takeDown();
  });
  return () => {
    done = true;
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    removeExitHook();
  };
}
