import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Config files and includes: far above any real config, far below what hurts a container. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** env_file: KEY=VALUE lines. */
export const MAX_ENV_FILE_BYTES = 1024 * 1024;

/**
 * Read a file of the config (a config, an include, an env_file) as UTF-8 text, only if it is a
 * regular file of at most `maxBytes`. `include: /dev/zero` grew `check` to 8 GB and an env_file
 * that is a FIFO hung `check` and every reload: O_NONBLOCK makes opening a FIFO return at once, and
 * the fstat of the opened fd (not of the path, which could be swapped meanwhile) decides.
 * Throws an Error whose message says why, for the caller's FILE:LINE problem.
 */
export function readConfigText(file: string, maxBytes: number): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new Error('is a directory');
    if (!st.isFile()) throw new Error('not a regular file (a device, FIFO or socket is never read)');
    if (st.size > maxBytes) throw new Error(`larger than ${maxBytes} bytes (${st.size})`);
    // Read at most one byte more than allowed: a file that grows while read is caught too.
    let buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, maxBytes + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    }
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}
