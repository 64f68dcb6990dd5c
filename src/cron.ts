// The time arithmetic of `schedule:` (SPEC §11), shared by config/ (to check an expression at its
// line) and supervisor/ (to arm the timer to the next run). Cron expressions are croner's: it
// parses 5 or 6 fields (a leading seconds field), names, ranges, lists and steps, ORs day of
// month with day of week as Vixie cron does, and follows Vixie cron across daylight-saving
// changes (fixedTimeRule "no-wildcard": a fixed-time job whose time is skipped by spring-forward
// runs once right after the gap, and once only in a repeated hour; a job with `*` or a step in
// its seconds, minutes or hours runs at every wall-clock time that exists).
import { Cron } from 'croner';
import type { ScheduleSpec } from './config/types';

/** A cron expression or @reboot as written -> its spec, or an error message (config/schedule.ts reads @every). */
export function parseSchedule(text: string, timezone: string): { spec?: ScheduleSpec; error?: string } {
  const t = text.trim();
  if (t === '@reboot') return { spec: { kind: 'reboot', text: t, timezone } };
  try {
    if (cronOf(t, timezone).nextRun() === null) return { error: `invalid schedule "${t}": it never comes (no such date)` };
  } catch (err) {
    return { error: `invalid schedule "${t}": ${(err as Error).message}` };
  }
  return { spec: { kind: 'cron', text: t, timezone } };
}

/** Whether a time zone name is one this Node knows (Intl's IANA database). */
export function knownTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<string, Cron>();

function cronOf(text: string, timezone: string): Cron {
  const key = `${timezone}\0${text}`;
  let c = cache.get(key);
  if (!c) {
    // paused: croner only computes here; ringmaster arms its own one timer per job.
    c = new Cron(text, { timezone, paused: true, mode: '5-or-6-parts', fixedTimeRule: 'no-wildcard' });
    cache.set(key, c);
  }
  return c;
}

/**
 * The first run strictly after `after` (ms since the epoch), or null when there is none (a
 * date that never comes) or for @reboot. @every counts from `anchor` (ringmaster's start or
 * the job's arming), so its runs do not drift with late timers.
 */
export function nextRunAfter(spec: ScheduleSpec, after: number, anchor: number): number | null {
  switch (spec.kind) {
    case 'reboot':
      return null;
    case 'every': {
      const every = spec.everyMs!;
      const n = Math.floor((after - anchor) / every) + 1;
      return anchor + Math.max(1, n) * every;
    }
    case 'cron':
      return cronOf(spec.text, spec.timezone).nextRun(new Date(after))?.getTime() ?? null;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** RFC 3339 with the zone's offset (SPEC §11): `2026-03-29T03:00:00+02:00`. */
export function rfc3339(ms: number, timezone: string): string {
  let format = formats.get(timezone);
  if (!format) {
    // Building one costs about a millisecond: once per zone, not per status line.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formats.set(timezone, format);
  }
  const parts = format.formatToParts(new Date(ms));
  const f = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  const local = Date.UTC(+f.year, +f.month - 1, +f.day, +f.hour, +f.minute, +f.second);
  const offsetMin = Math.round((local - Math.floor(ms / 1000) * 1000) / 60000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${f.year}-${f.month}-${f.day}T${f.hour}:${f.minute}:${f.second}${off}`;
}
