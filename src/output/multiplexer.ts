import type { LogLevel } from '../config/types';
import type { Readable, Writable } from 'node:stream';
import { colorFor, makeFormat, timestamp, type FormatOptions } from './format';
import { LineSplitter } from './line-splitter';
import { LogFile } from './logfile';
import { TailBuffer } from './tail';
import type { Output, OutputObserver, StreamName } from './types';

export interface OutputOptions {
  stdout: Writable;
  stderr: Writable;
  /** A partial line is written after its producer was quiet this long. */
  idleFlushMs?: number;
  /** Longest line written in one piece. */
  maxLine?: number;
  format?: 'text' | 'json';
  timestamps?: boolean;
  /** 'auto': colour when the stream is a TTY and NO_COLOR is unset (FORCE_COLOR forces it). */
  color?: 'auto' | 'always' | 'never';
  env?: NodeJS.ProcessEnv;
  /** Bytes kept per process and stream for tail. */
  tailBytes?: number;
  /** Told once per turn of the event loop in which output was written. */
  onActivity?: () => void;
  /** ringmaster's own lines below this level are not written (SPEC §3 `log_level`); programs' lines always are. */
  logLevel?: LogLevel;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function wantsColor(mode: OutputOptions['color'], stream: Writable, env: NodeJS.ProcessEnv): boolean {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return (stream as { isTTY?: boolean }).isTTY === true && env.NO_COLOR === undefined;
}

function nameWidth(names: readonly string[]): number {
  let width = 0;
  for (const n of names) width = Math.max(width, n.length);
  return width;
}

const SYSTEM_NAME = 'ringmaster';

/**
 * ringmaster's own lines cannot be paused like a program's pipe: while the reader is stalled they
 * wait here, the newest kept up to this many bytes, the older ones counted and dropped (a
 * fast-flapping program queued 7.8 MB of them in 62 s, without bound; issue #12, 16).
 */
export const HELD_SYSTEM_BYTES = 256 * 1024;

/** One of ringmaster's two streams, and the producers that write to it. */
class Sink {
  private blocked = false;
  private corked = false;
  /** The reader went away (EPIPE) or the stream was destroyed: nothing can be written any more. */
  private dead = false;
  private readonly uncork = () => {
    this.corked = false;
    this.stream.uncork();
    this.onActivity();
  };
  private held: Buffer[] = [];
  private heldBytes = 0;
  private dropped = 0;
  private readonly onDrain = () => {
    this.blocked = false;
    this.writeHeld();
    if (this.blocked) return; // the held lines filled the stream again: producers stay paused
    for (const s of this.sources) s.release();
  };

  /** The held lines (and how many were dropped before them) go to the stream, in order. */
  private writeHeld(): void {
    if (this.held.length === 0 && this.dropped === 0) return;
    const lines = this.held;
    const dropped = this.dropped;
    this.held = [];
    this.heldBytes = 0;
    this.dropped = 0;
    if (dropped > 0) this.write(this.dropNotice(dropped));
    for (const line of lines) this.write(line);
  }
  /** The line that says how many of ringmaster's own lines were dropped. */
  dropNotice: (count: number) => Buffer = (count) => Buffer.from(`${count} lines dropped\n`);
  private readonly onGone = () => {
    if (this.dead) return;
    // Held producers would wait for a 'drain' that never comes and block on their own pipes:
    // let them run, their lines are dropped (tail and log files still get them).
    this.dead = true;
    this.stream.off('drain', this.onDrain);
    this.onDrain();
  };
  readonly sources = new Set<Source>();

  constructor(
    readonly stream: Writable,
    /** Once per turn of the event loop that wrote something. */
    private readonly onActivity: () => void,
  ) {
    // A reader that went away (EPIPE) must not take the supervisor down.
    stream.on('error', this.onGone);
    stream.on('close', this.onGone);
  }

  write(buf: Buffer): void {
    if (buf.length === 0 || this.dead) return;
    // Everything written in one turn of the event loop (chunks of several programs) leaves in one
    // writev: with programs that write line by line, a syscall per chunk would be the bottleneck.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      setImmediate(this.uncork);
    }
    if (this.stream.write(buf) || this.blocked || this.dead) return;
    // Backpressure: hold every producer of this stream until the reader catches up. What was
    // accepted stays queued in the Writable (at most one chunk per producer, and system lines).
    this.blocked = true;
    for (const s of this.sources) s.hold();
    this.stream.once('drain', this.onDrain);
  }

  /** One of ringmaster's own lines: written, or held (bounded, newest kept) while the reader is stalled. */
  writeSystem(buf: Buffer): void {
    if (this.dead) return;
    if (!this.blocked) return this.write(buf);
    this.held.push(buf);
    this.heldBytes += buf.length;
    let drop = 0;
    while (this.heldBytes > HELD_SYSTEM_BYTES && drop < this.held.length - 1) this.heldBytes -= this.held[drop++].length;
    if (drop > 0) {
      this.held.splice(0, drop);
      this.dropped += drop;
    }
  }

  /** Write out what is corked now (at exit there is no next turn of the event loop). */
  flushNow(): void {
    if (this.corked) this.uncork();
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Resolves when everything written so far was handed to the OS (or can never be). */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.dead || this.stream.destroyed || this.stream.writableEnded) return resolve();
      this.writeHeld(); // at the end, ringmaster's last lines are queued behind the rest
      // Writes complete in order: the callback of an empty write comes after all earlier ones.
      this.stream.write('', () => resolve());
      this.flushNow();
    });
  }

  /**
   * Stop listening to the stream (close of the Output). The 'error' listener stays on purpose:
   * an EPIPE on process.stdout after close() would otherwise crash ringmaster while it exits.
   */
  detach(): void {
    this.stream.off('drain', this.onDrain);
    this.stream.off('close', this.onGone);
  }
}

/** A program's pipe: its splitter, its idle timer, and whether we paused it. */
class Source {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  done = false;
  private resolveEnded!: () => void;
  /** Set only while a log healthcheck watches this process: no cost on the hot path otherwise. */
  observer: OutputObserver | undefined;
  /** Resolves when the pipe reached EOF and its last line was written. */
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));

  finish(): void {
    this.done = true;
    this.resolveEnded();
  }

  constructor(
    readonly name: string,
    readonly streamName: StreamName,
    readonly stream: Readable,
    readonly splitter: LineSplitter,
    private readonly sink: Sink,
    private readonly idleMs: number,
    private readonly copies: { logFile?: LogFile; tail: TailBuffer },
  ) {}

  onData(chunk: Buffer): void {
    this.copies.logFile?.write(chunk);
    this.copies.tail.write(chunk);
    if (this.observer) this.observer(this.streamName, chunk);
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
    if (this.done) return;
    this.held = true;
    this.clearIdle(); // a line is not "idle" because we stopped reading it
    this.stream.pause();
  }

  release(): void {
    if (!this.held || this.done) return;
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
  const env = opts.env ?? process.env;
  const onActivity = opts.onActivity ?? (() => {});
  const sinks: Record<StreamName, Sink> = { stdout: new Sink(opts.stdout, onActivity), stderr: new Sink(opts.stderr, onActivity) };
  const formats: Record<StreamName, FormatOptions> = {
    stdout: { json: opts.format === 'json', timestamps: !!opts.timestamps, color: wantsColor(opts.color, opts.stdout, env) },
    stderr: { json: opts.format === 'json', timestamps: !!opts.timestamps, color: wantsColor(opts.color, opts.stderr, env) },
  };
  const colors = new Map<string, number>();
  const logFiles = new Map<string, LogFile>();
  const tails = new Map<string, TailBuffer>();
  const observers = new Map<string, OutputObserver>();
  const setObserver = (name: string, observer: OutputObserver | undefined) => {
    for (const sink of Object.values(sinks)) for (const s of sink.sources) if (s.name === name) s.observer = observer;
  };
  const logFileOf = new Map<string, LogFile>();
  const mainLog = new TailBuffer(opts.tailBytes);
  let width = 0;
  const formatFor = (name: string, stream: StreamName) => {
    if (!colors.has(name)) colors.set(name, colors.size);
    const color = formats[stream].color ? colorFor(colors.get(name)!) : null;
    return makeFormat(name, stream, width, color, formats[stream]);
  };
  const threshold = LEVEL_RANK[opts.logLevel ?? 'info'];
  const systemLine = (text: string, stream: StreamName, level: LogLevel): Buffer => {
    const f = formats[stream];
    if (f.json) return Buffer.from(`{"time":"${timestamp()}","program":"${SYSTEM_NAME}","stream":"${stream}","level":"${level}","line":${JSON.stringify(text)}}\n`);
    const name = f.color ? `\x1b[1m${SYSTEM_NAME.padEnd(width)}\x1b[0m` : SYSTEM_NAME.padEnd(width);
    return Buffer.from(`${f.timestamps ? timestamp() + ' ' : ''}${name} | ${text}\n`);
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    sinks[stream].dropNotice = (count) => systemLine(`${count} of ringmaster's own lines were dropped while this output was stalled (the newest were kept)`, stream, 'warn');
  }
  // A log file that cannot be written: a warning, so on stderr (SPEC §3).
  const warn = (text: string) => {
    if (threshold <= LEVEL_RANK.warn) sinks.stderr.writeSystem(systemLine(text, 'stderr', 'warn'));
  };
  const flushAtExit = () => {
    sinks.stdout.flushNow();
    sinks.stderr.flushNow();
  };
  process.on('exit', flushAtExit);

  return {
    flushSync: flushAtExit,
    setNames(names) {
      width = nameWidth(names);
      for (const sink of Object.values(sinks)) {
        for (const s of sink.sources) s.splitter.setFormat(formatFor(s.name, s.streamName));
      }
    },

    attach(name, streamName, stream, options = {}) {
      const sink = sinks[streamName];
      const key = `${name}\0${streamName}`;
      let tail = tails.get(key);
      if (!tail) tails.set(key, (tail = new TailBuffer(opts.tailBytes)));
      let logFile: LogFile | undefined;
      if (options.logFile) {
        // One open file per path, kept across restarts of the program.
        logFile = logFiles.get(options.logFile.path);
        if (!logFile) logFiles.set(options.logFile.path, (logFile = new LogFile(options.logFile, warn)));
        logFileOf.set(key, logFile);
      }
      const splitter = new LineSplitter(formatFor(name, streamName), maxLine);
      const source = new Source(name, streamName, stream, splitter, sink, idleMs, { logFile, tail });
      source.observer = observers.get(name);
      sink.sources.add(source);
      if (sink.isBlocked) source.hold();
      return new Promise<void>((resolve) => {
        const finish = () => {
          if (source.done) return;
          source.flush();
          source.finish();
          sink.sources.delete(source);
          stream.off('data', onData);
          stream.off('end', finish);
          stream.off('close', finish);
          // The 'error' listener stays: a late error on a finished pipe must not crash ringmaster.
          resolve();
        };
        const onData = (chunk: Buffer | string) => source.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        stream.on('data', onData);
        stream.on('end', finish);
        stream.on('close', finish);
        stream.on('error', finish);
        // A pipe that ended or was destroyed before attach (a program gone at once) emits neither
        // 'end' nor 'close' again: without this, attach and settle() would wait forever.
        if (stream.readableEnded || stream.destroyed) finish();
      });
    },

    observe(name, observer) {
      observers.set(name, observer);
      setObserver(name, observer);
      return () => {
        if (observers.get(name) !== observer) return;
        observers.delete(name);
        setObserver(name, undefined);
      };
    },

    system(text, level = 'info') {
      if (LEVEL_RANK[level] < threshold) return;
      // Warnings and errors on stderr, so a log agent mapping stderr to a severity sees them as such.
      const streamName: StreamName = LEVEL_RANK[level] >= LEVEL_RANK.warn ? 'stderr' : 'stdout';
      sinks[streamName].writeSystem(systemLine(text, streamName, level));
      mainLog.write(Buffer.from(`${timestamp()} ${text}\n`));
    },

    mainLog: () => mainLog,

    clearLogs(name) {
      for (const stream of ['stdout', 'stderr'] as const) {
        tails.get(`${name}\0${stream}`)?.clear();
        logFileOf.get(`${name}\0${stream}`)?.clear();
      }
    },

    tail(name, streamName, create = false) {
      const key = `${name}\0${streamName}`;
      let tail = tails.get(key);
      if (!tail && create) tails.set(key, (tail = new TailBuffer(opts.tailBytes)));
      return tail;
    },

    settle(timeoutMs) {
      const pending = [...sinks.stdout.sources, ...sinks.stderr.sources].map((s) => s.ended);
      if (pending.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        void Promise.all(pending).then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },

    reopenLogs() {
      for (const f of logFiles.values()) f.reopen();
    },

    async close() {
      for (const sink of Object.values(sinks)) for (const s of sink.sources) s.flush();
      await Promise.all(Object.values(sinks).map((s) => s.flushed()));
      for (const f of logFiles.values()) f.close();
      process.off('exit', flushAtExit);
      for (const sink of Object.values(sinks)) sink.detach();
    },
  };
}
