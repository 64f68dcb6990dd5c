// The lines of bench/logs, shared by the writer (run.mjs) and the checker (counter.mjs). Line i of
// program p is "p<p> <i as 8 digits> " followed by 'y's up to its length, then '\n'.
export const HEAD = 12;

/** Bytes before the '\n' of line i: 99 in the fixed modes; 20-400 (and 2000 for one line in 97) in the mixed mode. */
export function lineLength(i, mixed) {
  if (!mixed) return 99;
  return i % 97 === 0 ? 2000 : 20 + ((i * 7919) % 381);
}

/** The lines of one program: as many as fill `bytes`, in one Buffer. */
export function programData(p, bytes, mixed) {
  let lines = 0;
  for (let total = 0; total + lineLength(lines, mixed) + 1 <= bytes; ) total += lineLength(lines++, mixed) + 1;
  let size = 0;
  for (let i = 0; i < lines; i++) size += lineLength(i, mixed) + 1;
  const buf = Buffer.alloc(size, 'y');
  for (let i = 0, o = 0; i < lines; i++) {
    buf.write(`p${p} ${String(i).padStart(8, '0')} `, o, 'latin1');
    o += lineLength(i, mixed);
    buf[o++] = 10;
  }
  return { buf, lines };
}
