/**
 * The longest delay a Node timer can hold: setTimeout turns anything above 2^31-1 ms into 1 ms
 * (so `stopwaitsecs: 2592000` used to kill at once). Every duration of the config stays at or below.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Durations: a number is seconds; strings like `500ms`, `2s`, `1m30s`, `1h`, `1.5s`. In ms. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched = re.lastIndex;
  }
  return matched === text.length && matched > 0 ? Math.round(total) : null;
}

/** Sizes like Supervisor's: `50MB`, `1KB`, `1GB` (×1024), a bare number is bytes. */
export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(value.trim());
  if (!m) return null;
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(m[2] ?? 'B').toUpperCase() as 'B'];
  return Math.round(Number(m[1]) * unit);
}
