/** The name column: padded to the longest name, then ` | `. Decided once per source, not per line. */
export function makePrefix(name: string, width: number): Buffer {
  return Buffer.from(`${name.padEnd(width)} | `);
}

export function nameWidth(names: readonly string[]): number {
  let width = 0;
  for (const n of names) width = Math.max(width, n.length);
  return width;
}
