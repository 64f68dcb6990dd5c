// Times as Supervisor and supervisorctl print them.
import type { ProcessSnapshot } from '../types';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Python's str(timedelta): `0:01:02`, `1 day, 2:03:04`, `3 days, 0:00:00`. */
export function timedelta(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const rest = s % 86400;
  const clock = `${Math.floor(rest / 3600)}:${String(Math.floor((rest % 3600) / 60)).padStart(2, '0')}:${String(rest % 60).padStart(2, '0')}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/** strftime('%b %d %I:%M %p') in local time. */
export function stopClock(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${two(d.getDate())} ${two(d.getHours() % 12 || 12)}:${two(d.getMinutes())} ${d.getHours() < 12 ? 'AM' : 'PM'}`;
}

/**
 * What a scheduled job adds to its status description (SPEC §11), the same in ctl, XML-RPC and
 * the JSON API's `schedule` object: `last run 2026-12-02T00:10:00+00:00 exit code 0, next run …`.
 */
export function scheduleText(p: ProcessSnapshot): string {
  const s = p.schedule;
  if (!s) return '';
  const last = s.last ? `last run ${s.last.startText} ${s.last.exitstatus === null ? 'stopped' : `exit code ${s.last.exitstatus}`}` : 'not run yet';
  return `${last}, next run ${s.nextText ?? 'none'}`;
}
