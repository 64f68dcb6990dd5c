import type { LogLevel } from '../config/types';
import type { Writable } from 'node:stream';
import { colorFor, makeFormat, timestamp, type FormatOptions } from './format';
import { LineSplitter, type NativeLines } from './line-splitter';
import { LogFile } from './logfile';
import { Sink } from './sink';
import { Source } from './source';
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
  /** The addon's line render (faster); the JS render without it. */
  nativeLines?: NativeLines;
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

/** The one owner of ringmaster's stdout and stderr (SPEC §3). */
export function createOutput(opts: OutputOptions): Output {
  const idleMs = opts.idleFlushMs ?? 100;
  const maxLine = opts.maxLine ?? 65536;
  const env = opts.env ?? process.env;
  const onActivity = opts.onActivity ?? (() => {});
  const sinks: Record<StreamName, Sink<Source>> = { stdout: new Sink<Source>(opts.stdout, onActivity), stderr: new Sink<Source>(opts.stderr, onActivity) };
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

    attach(name, streamName, from, options = {}) {
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
      const splitter = new LineSplitter(formatFor(name, streamName), maxLine, opts.nativeLines);
      const source = new Source(name, streamName, 'claimFd' in from ? from.claimFd() : from, splitter, sink.out, idleMs, { logFile, tail });
      const stream = source.stream;
      source.observer = observers.get(name);
      sink.sources.add(source);
      if (sink.isBlocked) source.hold();
      return new Promise<void>((resolve) => {
        const finish = () => {
          if (source.done) return;
          source.flush();
          sink.flushNow(); // a program's last lines are handed on before attach resolves
          source.finish();
          sink.sources.delete(source);
          stream.off('end', finish);
          stream.off('close', finish);
          // The 'error' listener stays: a late error on a finished pipe must not crash ringmaster.
          resolve();
        };
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

    releaseMemory() {
      sinks.stdout.out.release();
      sinks.stderr.out.release();
    },

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
