// The page's one live connection: an EventSource on /web/events. It carries every process row
// (a snapshot, then each change as it happens, from SupervisorApi.subscribe), CPU, memory and
// uptime every USAGE_MS while a page is open, and, with ?tail=NAME, that process's output.
// Nothing is polled per page: one timer and one /proc sample serve every open page.
import type { ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { ApiEvent, SupervisorApi } from '../../supervisor/api';
import type { StreamName } from '../../types';
import { rowView } from './view';

/** How often CPU, memory and uptime are refreshed on open pages. */
export const USAGE_MS = 10_000;
/** Bytes of each stream a tail starts with. */
const TAIL_BACK = 4096;
/** A page this far behind is cut off (its EventSource reconnects and resyncs) rather than buffered for. */
const MAX_BACKLOG = 1024 * 1024;

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The CPU/memory/uptime frame, computed once per tick for every open page of one supervisor. */
class UsageFeed {
  private readonly pages = new Set<(text: string) => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly api: SupervisorApi) {}

  add(page: (text: string) => void): () => void {
    this.pages.add(page);
    if (!this.timer) this.timer = setInterval(() => void this.tick(), USAGE_MS).unref();
    return () => {
      this.pages.delete(page);
      if (this.pages.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  async frame(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    // Only what moves on its own: [name, description (uptime), cpu, memory].
    return frame('usage', (await this.api.list({ usage: true })).map((p) => {
      const v = rowView(p, now);
      return [v.n, v.d, v.c ?? null, v.m ?? null];
    }));
  }

  private async tick(): Promise<void> {
    const text = await this.frame().catch(() => undefined);
    if (text !== undefined) for (const page of this.pages) page(text);
  }
}

const feeds = new WeakMap<SupervisorApi, UsageFeed>();

function feedOf(api: SupervisorApi): UsageFeed {
  let feed = feeds.get(api);
  if (!feed) feeds.set(api, (feed = new UsageFeed(api)));
  return feed;
}

/** Group added or removed (a reload): the page reconnects and gets a fresh snapshot. */
const RESYNC = new Set(['PROCESS_GROUP_ADDED', 'PROCESS_GROUP_REMOVED']);

export async function streamPage(res: ServerResponse, api: SupervisorApi, tail: string | null, headers: Record<string, string>): Promise<void> {
  if (tail !== null) await api.get(tail); // BAD_NAME before the stream begins
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const write = (text: string) => {
    if (res.destroyed) return;
    if (res.writableLength > MAX_BACKLOG) return void res.destroy();
    res.write(text);
  };
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  const unsubscribe = api.subscribe((e: ApiEvent) => {
    if (e.type === 'snapshot' || e.type === 'state') write(frame('row', rowView(e.process)));
    else if (e.type === 'health') {
      api.get(e.spec.namespec).then((p) => !gone.signal.aborted && write(frame('row', rowView(p))), () => {});
    } else if (RESYNC.has(e.event.name)) write(frame('resync', null));
  });
  gone.signal.addEventListener('abort', unsubscribe);
  // The snapshot is written (the local API sends it within subscribe()): the page drops rows it did not get.
  write(frame('synced', null));
  const stopUsage = feedOf(api).add(write);
  gone.signal.addEventListener('abort', stopUsage);
  feedOf(api).frame().then((text) => !gone.signal.aborted && write(text), () => {});
  if (tail !== null) for (const stream of ['stdout', 'stderr'] as StreamName[]) follow(api, tail, stream, write, gone.signal);
}

function follow(api: SupervisorApi, name: string, stream: StreamName, write: (text: string) => void, signal: AbortSignal): void {
  // A character cut between two chunks is joined, not shown as two replacement marks.
  const decoder = new StringDecoder('utf8');
  api.followLog(name, stream, TAIL_BACK, (chunk) => write(frame('out', { s: stream, t: decoder.write(chunk) })), signal).catch(() => {});
}
