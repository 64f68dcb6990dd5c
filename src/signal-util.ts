import { constants } from 'node:os';

// Signal names and kill(2), shared by config, supervisor, pid1 and control: one parseSignal.

/** `SIGTERM`, `TERM`, `term` or `15` → `SIGTERM`; undefined when it is no signal Node knows. */
export function parseSignal(text: string): NodeJS.Signals | undefined {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return (Object.keys(constants.signals) as NodeJS.Signals[]).find((s) => constants.signals[s] === n);
  }
  const name = (t.startsWith('SIG') ? t : `SIG${t}`) as NodeJS.Signals;
  return Object.hasOwn(constants.signals, name) ? name : undefined;
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

export function signalName(num: number): string {
  return SIGNAL_NAMES[num] ?? `signal ${num}`;
}

export function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name];
}

/** kill(2) that reports instead of throwing: false when the target is gone (ESRCH) or denied. */
export function trySignal(target: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, sig);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process (zombies included) is left in the process group. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
