// sd_notify's datagram format (sd_notify(3)): newline-separated VARIABLE=VALUE assignments.
import type { ReadyNotice } from '../types';

/**
 * The notices in one datagram, in order. Understood: READY=1, STATUS=…, WATCHDOG=1, MAINPID=N,
 * STOPPING=1; everything else (RELOADING, ERRNO, BUSERROR, EXTEND_TIMEOUT_USEC, FDSTORE, BARRIER
 * — whose fd is closed by the addon, which is its answer) is ignored, as systemd ignores what it
 * does not know.
 */
export function parseNotify(text: string): ReadyNotice[] {
  const out: ReadyNotice[] = [];
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'READY':
        if (value === '1') out.push({ kind: 'ready' });
        break;
      case 'STATUS':
        out.push({ kind: 'status', text: value.slice(0, MAX_STATUS) });
        break;
      case 'WATCHDOG':
        if (value === '1') out.push({ kind: 'watchdog' });
        break;
      case 'MAINPID': {
        const pid = /^\d{1,10}$/.test(value) ? Number(value) : 0;
        if (pid > 1 && pid < 2 ** 31) out.push({ kind: 'mainpid', pid });
        break;
      }
      case 'STOPPING':
        if (value === '1') out.push({ kind: 'stopping' });
        break;
    }
  }
  return out;
}

/** A STATUS longer than this is cut: it is shown on one status line. */
const MAX_STATUS = 512;
