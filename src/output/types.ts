import type { LogLevel } from '../config/types';
import type { Readable } from 'node:stream';
import type { LogFileConfig } from './logfile';
import type { TailBuffer } from './tail';

export type StreamName = 'stdout' | 'stderr';

/**
 * Sees every chunk a process writes on either stream, as read (not split into lines). The chunk
 * is valid only during the call (it may be a reused read buffer): copy what must be kept.
 */
export type OutputObserver = (stream: StreamName, chunk: Buffer) => void;

/**
 * A pipe whose file descriptor the output may take over and read itself (src/pid1/spawn's
 * ReadPipe): faster than a stream, as every read lands in one reused buffer.
 */
export interface ClaimableFd {
  claimFd(): number;
}

/** Copies of a program's stream besides the console. */
export interface AttachOptions {
  logFile?: LogFileConfig;
}

/**
 * The one owner of ringmaster's stdout and stderr. Programs' pipes are attached once spawned;
 * ringmaster's own messages go through `system`. Lines are never cut below 64 KiB nor mixed.
 */
export interface Output {
  /** All process names that may print, so names are padded to the longest. Call again on change. */
  setNames(names: readonly string[]): void;
  /**
   * Read `source` (a program's pipe, as a stream or a claimable fd) until EOF, writing each line
   * as `name | line` on the matching stream of ringmaster (and to its log file). Resolves once
   * EOF was seen and the last partial line written.
   */
  attach(name: string, stream: StreamName, source: Readable | ClaimableFd, options?: AttachOptions): Promise<void>;
  /** Let go of buffers kept for reuse (ringmaster went quiet). */
  releaseMemory(): void;
  /**
   * Watch a process's output (a log healthcheck), also across restarts, until the returned
   * function is called. One observer per process name; a new one replaces the old.
   */
  observe(name: string, observer: OutputObserver): () => void;
  /** A message of ringmaster itself: `ringmaster | text`; warn and error on stderr, below log_level dropped. */
  system(text: string, level?: LogLevel): void;
  /** The recent output of a process's stream (bounded), or undefined if it never printed (unless `create`). */
  tail(name: string, stream: StreamName, create?: boolean): TailBuffer | undefined;
  /** ringmaster's own recent messages (Supervisor's main log, for readLog). */
  mainLog(): TailBuffer;
  /** Empty a process's tail buffers and log files (clearProcessLogs). */
  clearLogs(name: string): void;
  /** Reopen every log file (SIGUSR2, after an external logrotate moved them). */
  reopenLogs(): void;
  /** Resolves once every attached pipe reached EOF (all its lines written), or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
  /** Write what is queued now, synchronously (the failsafe, just before ringmaster dies of a signal). */
  flushSync(): void;
  /** Flush partial lines and wait until everything written reached the OS. */
  close(): Promise<void>;
}
