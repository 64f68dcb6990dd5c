import type { Readable, Writable } from 'node:stream';
import { LineSplitter } from './line-splitter';
import { makePrefix, nameWidth } from './prefix';
import type { Output, StreamName } from './types';

export interface OutputOptions {
  stdout: Writable;
  stderr: Writable;
  /** A partial line is written after its producer was quiet this long. */
  idleFlushMs?: number;
  /** Longest line written in one piece. */
  maxLine?: number;
}

const SYSTEM_NAME = 'ringmaster';

/** One of ringmaster's two streams, and the producers that write to it. */
class Sink {
  private blocked = false;
  readonly sources = new Set<Source>();

  constructor(readonly stream: Writable) {
    // A reader that went away (EPIPE) must not take the supervisor down.
    stream.on('error', () => {});
  }

  write(buf: Buffer): void {
    if (buf.length === 0) return;
    if (this.stream.write(buf) || this.blocked) return;
    // Backpressure: hold every producer of this stream until the reader catches up.
    this.blocked = true;
    for (const s of this.sources) s.hold();
    this.stream.once('drain', () => {
      this.blocked = false;
      for (const s of this.sources) s.release();
    });
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.destroyed || this.stream.writableEnded) return resolve();
      this.stream.write('', () => resolve());
    });
  }
}

/** A program's pipe: its splitter, its idle timer, and whether we paused it. */
class Source {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  ended = false;

  constructor(
    readonly name: string,
    readonly stream: Readable,
    readonly splitter: LineSplitter,
    private readonly sink: Sink,
    private readonly idleMs: number,
  ) {}

  onData(chunk: Buffer): void {
    const out = this.splitter.push(chunk);
    if (out) this.sink.write(out);
    this.armIdle();
  }

  flush(): void {
    this.clearIdle();
    const out = this.splitter.flush();
    if (out) this.sink.write(out);
  }

  hold(): void {
    if (this.ended) return;
    this.held = true;
    this.clearIdle(); // a line is not "idle" because we stopped reading it
    this.stream.pause();
  }

  release(): void {
    if (!this.held || this.ended) return;
    this.held = false;
    this.stream.resume();
    this.armIdle();
  }

  private armIdle(): void {
    if (!this.splitter.hasPartial || this.held) return this.clearIdle();
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.idleMs);
  }

  clearIdle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The one owner of ringmaster's stdout and stderr (SPEC §3). */
export function createOutput(opts: OutputOptions): Output {
  const idleMs = opts.idleFlushMs ?? 100;
  const maxLine = opts.maxLine ?? 65536;
  const sinks: Record<StreamName, Sink> = { stdout: new Sink(opts.stdout), stderr: new Sink(opts.stderr) };
  let width = SYSTEM_NAME.length;
  let systemPrefix = makePrefix(SYSTEM_NAME, 0);

  return {
    setNames(names) {
      width = nameWidth(names);
      systemPrefix = makePrefix(SYSTEM_NAME, width);
      for (const sink of Object.values(sinks)) {
        for (const s of sink.sources) s.splitter.setPrefix(makePrefix(s.name, width));
      }
    },

    attach(name, streamName, stream) {
      const sink = sinks[streamName];
      const source = new Source(name, stream, new LineSplitter(makePrefix(name, width), maxLine), sink, idleMs);
      sink.sources.add(source);
      if (sink.isBlocked) source.hold();
      return new Promise<void>((resolve) => {
        const finish = () => {
          if (source.ended) return;
          source.flush();
          source.ended = true;
          sink.sources.delete(source);
          stream.off('data', onData);
          resolve();
        };
        const onData = (chunk: Buffer) => source.onData(chunk);
        stream.on('data', onData);
        stream.once('end', finish);
        stream.once('close', finish);
        stream.once('error', finish);
      });
    },

    system(text, streamName = 'stdout') {
      const body = Buffer.from(text + '\n');
      sinks[streamName].write(Buffer.concat([systemPrefix, body], systemPrefix.length + body.length));
    },

    async close() {
      for (const sink of Object.values(sinks)) for (const s of sink.sources) s.flush();
      await Promise.all(Object.values(sinks).map((s) => s.flushed()));
    },
  };
}
