import { closeSync, constants, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Opened without blocking: a log file that is a FIFO with no reader used to block PID 1's event
 * loop in open(), and one whose reader stalled blocked it in write(). Now the open fails (ENXIO,
 * retried like any failure) and a full pipe drops the chunk (EAGAIN, counted).
 */
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY;

/** After a failed write (ENOSPC, EIO…), the file is tried again after this long. */
export const LOG_RETRY_MS = 2000;

export interface LogFileConfig {
  path: string;
  /** Rotate before the file would pass this size; 0 never rotates. */
  maxBytes: number;
  /** Rotated files kept as .1 … .N; 0 truncates instead. */
  backups: number;
  stripAnsi: boolean;
}

// CSI and OSC sequences and lone ESC-x, as Supervisor's strip_ansi removes them.
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * A program's output copied to a file, as Supervisor's stdout_logfile: raw bytes, rotated so no
 * file is ever larger than maxBytes, reopened on SIGUSR2 for an external logrotate. Writes are
 * synchronous (to the page cache): ordering is exact and nothing queues in memory.
 */
export class LogFile {
  private fd = -1;
  private size = 0;
  private seekable = true;
  private failed = false;
  /** When a failed file is next tried (on a write at or after it). */
  private retryAt = 0;
  /** Said once: the file is a pipe whose reader is slower than the program. */
  private slow = false;
  /** Bytes not written since the failure, reported when writing works again. */
  private lost = 0;

  constructor(
    readonly config: LogFileConfig,
    private readonly warn: (text: string) => void,
  ) {
    this.open();
  }

  write(chunk: Buffer): void {
    if (this.fd < 0) {
      // One ENOSPC used to turn the file off until SIGUSR2 (issue #12, 21): try it again.
      if (!this.failed || Date.now() < this.retryAt) return void (this.lost += chunk.length);
      this.open();
      if (this.fd < 0) return void (this.lost += chunk.length);
    }
    let data = chunk;
    if (this.config.stripAnsi && data.includes(0x1b)) data = Buffer.from(data.toString('latin1').replace(ANSI, ''), 'latin1');
    const max = this.config.maxBytes;
    try {
      if (max === 0 || !this.seekable) {
        writeSync(this.fd, data);
        if (this.failed) this.recovered();
        return;
      }
      let offset = 0;
      while (offset < data.length) {
        if (this.size >= max) this.rotate();
        const n = Math.min(data.length - offset, max - this.size);
        writeSync(this.fd, data, offset, n);
        this.size += n;
        offset += n;
      }
      if (this.failed) this.recovered();
    } catch (err) {
      // A pipe whose reader is slow: this chunk is dropped, the file stays open.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        if (!this.slow) this.warn(`log file ${this.config.path}: its reader does not keep up; what it cannot take is dropped`);
        this.slow = true;
        return void (this.lost += data.length);
      }
      this.fail(err);
    }
  }

  reopen(): void {
    this.close();
    this.failed = false;
    this.open();
  }

  /** Supervisor's clearProcessLogs: the file is removed and a new, empty one opened. */
  clear(): void {
    this.close();
    try {
      rmSync(this.config.path, { force: true });
    } catch (err) {
      this.fail(err);
    }
    this.failed = false;
    this.open();
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private open(): void {
    try {
      mkdirSync(path.dirname(this.config.path), { recursive: true });
      this.fd = openSync(this.config.path, OPEN_FLAGS, 0o666);
      const st = fstatSync(this.fd);
      this.seekable = st.isFile();
      this.size = st.size;
    } catch (err) {
      this.fail(err);
    }
  }

  /** A write went through after a failure: say so once, with what was lost meanwhile. */
  private recovered(): void {
    this.warn(`log file ${this.config.path}: writing again${this.lost > 0 ? ` (${this.lost} bytes were not written)` : ''}`);
    this.failed = false;
    this.lost = 0;
  }

  /** file -> file.1 -> … -> file.N (the oldest dropped), then a fresh file. */
  private rotate(): void {
    this.close();
    const { path: file, backups } = this.config;
    if (backups > 0) {
      rmSync(`${file}.${backups}`, { force: true });
      for (let i = backups - 1; i >= 1; i--) {
        try {
          renameSync(`${file}.${i}`, `${file}.${i + 1}`);
        } catch {
          // not there yet
        }
      }
      renameSync(file, `${file}.1`);
    } else {
      rmSync(file, { force: true });
    }
    this.fd = openSync(file, OPEN_FLAGS, 0o666);
    this.size = 0;
  }

  private fail(err: unknown): void {
    this.close();
    if (!this.failed) this.warn(`log file ${this.config.path}: ${(err as Error).message}; not writing it, trying again every ${LOG_RETRY_MS / 1000}s`);
    this.failed = true;
    this.retryAt = Date.now() + LOG_RETRY_MS;
  }
}
