// One process as the web page shows it: every text it needs, worked out once on the server, so
// the page's HTML and its live updates say the same thing and the browser only copies text.
import type { ProcessSnapshot, ProcessUsage } from '../../supervisor/api';
import { STATE_CODES } from '../../types';
import { supervisorDescription } from '../xmlrpc/calls';

export interface RowView {
  /** Supervisor's name, `group:name`. */
  n: string;
  /** State name. */
  s: string;
  /** Supervisor's description. */
  d: string;
  /** Health: `healthy`, `unhealthy: <first line of the probe's output>`, or '' without a check. */
  h: string;
  /** What it waits for before it starts (depends_on), or ''. */
  w: string;
  /** CPU and memory as shown; null when no process runs, absent when not sampled in this frame. */
  c?: string | null;
  m?: string | null;
  /** Place in "failing first" order (0 first). */
  r: number;
  /** 1 when the process needs someone's attention: the "failing" filter. */
  f: 0 | 1;
}

/** "Failing first": what needs a person, then what is moving, then what is fine. */
const RANK: Record<string, number> = { FATAL: 0, BACKOFF: 1, UNKNOWN: 2, EXITED: 3, STOPPING: 5, STARTING: 6, RUNNING: 8, STOPPED: 9 };
const FAILING_BELOW = 5;

function rank(p: ProcessSnapshot): number {
  if (p.state === 'EXITED' && p.expected) return 7;
  if (p.state === 'RUNNING' && p.health?.status === 'unhealthy') return 4;
  return RANK[p.state] ?? 2;
}

function healthText(p: ProcessSnapshot): string {
  const h = p.health;
  if (!h) return p.hasHealthcheck && p.pid ? 'starting' : '';
  if (h.status === 'healthy' || !h.output) return h.status;
  const line = h.output.trimStart().split('\n', 1)[0];
  return `${h.status}: ${line.length > 120 ? `${line.slice(0, 119)}…` : line}`;
}

export function cpuText(u: ProcessUsage): string {
  return `${u.cpuPercent.toFixed(1)}%`;
}

export function memoryText(u: ProcessUsage): string {
  return `${(u.memoryBytes / 1048576).toFixed(1)} MB`;
}

export function rowView(p: ProcessSnapshot & { usage?: ProcessUsage | null }, now?: number): RowView {
  const r = rank(p);
  const view: RowView = { n: p.namespec, s: p.state, d: supervisorDescription(p, now), h: healthText(p), w: p.waiting, r, f: r < FAILING_BELOW ? 1 : 0 };
  if (!p.pid) view.c = view.m = null;
  else if (p.usage) {
    view.c = cpuText(p.usage);
    view.m = memoryText(p.usage);
  }
  return view;
}

/** The filters of the page (query `state`, `q`, `order`), applied the same way by the browser. */
export interface Filters {
  state: string;
  q: string;
  failingFirst: boolean;
}

export function filtersOf(url: URL): Filters {
  const q = url.searchParams;
  const state = q.get('state') ?? '';
  // A state the select does not offer would hide every row behind a filter the page cannot show.
  const known = state === 'failing' || Object.hasOwn(STATE_CODES, state);
  return { state: known ? state : '', q: (q.get('q') ?? '').slice(0, 200), failingFirst: q.get('order') === 'failing' };
}

export function shown(v: RowView, f: Filters): boolean {
  if (f.state === 'failing' ? v.f !== 1 : f.state !== '' && v.s !== f.state) return false;
  return f.q === '' || v.n.toLowerCase().includes(f.q.toLowerCase());
}
