// Supervisor's `%(name)s` expansions: Python's `value % mapping`, as options.py `expand` does it.

export type Expansions = Record<string, string | number>;

/** What a `%(name)…` becomes when it is not a plain value (kept for later, or an env reference). */
export type Special = (name: string, spec: string) => string | undefined;

const SPEC_RE = /%(?:\(([^)]*)\))?([#0\- +]*)(\d*)(?:\.(\d*))?[hlL]?([diouxXeEfFgGcrsa%])?/g;

/**
 * Expand `%(name)s`, `%(name)02d` and `%%` like Python's `%` operator with a dict. `special`
 * may take a name over (return the text to put in its place); `keepDoublePercent` leaves `%%` as
 * is, for a template that is expanded again later. An unknown name or a stray `%`
 * is an error worded like supervisord's.
 */
export function expandPercent(text: string, names: Expansions, what: string, keepDoublePercent = false, special?: Special): { value: string; error?: string } {
  if (!text.includes('%')) return { value: text };
  let error: string | undefined;
  const value = text.replace(SPEC_RE, (whole: string, name: string | undefined, flags: string, width: string, precision: string | undefined, conv: string | undefined) => {
    if (error) return whole;
    if (whole === '%%') return keepDoublePercent ? '%%' : '%';
    if (name === undefined || conv === undefined || conv === '%') {
      error = `Format string ${pyRepr(text)} for ${pyRepr(what)} is badly formatted: write %% for a literal %`;
      return whole;
    }
    const taken = special?.(name, whole);
    if (taken !== undefined) return taken;
    if (!(name in names)) {
      const available = Object.keys(names).filter((k) => !k.startsWith('ENV_')).sort();
      error =
        `Format string ${pyRepr(text)} for ${pyRepr(what)} contains names (${pyRepr(name)}) which cannot be expanded. ` +
        `Available names: ${[...available, 'ENV_<variable>'].join(', ')}`;
      return whole;
    }
    if (Number(width || 0) > MAX_FORMAT_WIDTH || Number(precision || 0) > MAX_FORMAT_WIDTH) {
      error = `Format string ${pyRepr(text)} for ${pyRepr(what)}: ${pyRepr(whole)} asks for more than ${MAX_FORMAT_WIDTH} characters`;
      return whole;
    }
    const formatted = formatOne(names[name], flags, width, precision, conv);
    if (formatted === undefined) {
      error = `Format string ${pyRepr(text)} for ${pyRepr(what)} is badly formatted: %${conv} format needs a number, got ${pyRepr(String(names[name]))}`;
      return whole;
    }
    return formatted;
  });
  return error ? { value: text, error } : { value };
}

/**
 * Python pads `%(program_name)0600000000s` to 600 MB; no option needs more than this, so a larger
 * width or precision is a problem at its line instead of an out-of-memory crash.
 */
export const MAX_FORMAT_WIDTH = 4096;

/** n.toFixed / toExponential / toPrecision stop at 100 digits; Python does not. The values
 * formatted here are integers, so digits past 100 are zeros. */
function fixed(n: number, p: number): string {
  const text = n.toFixed(Math.min(p, 100));
  return p > 100 ? text + '0'.repeat(p - 100) : text;
}

function exponential(n: number, p: number): string {
  const text = n.toExponential(Math.min(p, 100));
  return p > 100 ? text.replace(/e/, `${'0'.repeat(p - 100)}e`) : text;
}

function formatOne(value: string | number, flags: string, width: string, precision: string | undefined, conv: string): string | undefined {
  let text: string;
  if ('diu'.includes(conv) || 'xXo'.includes(conv)) {
    // As in Python, %d of a str is an error even when the str holds digits.
    if (typeof value !== 'number') return undefined;
    const n = value;
    const i = Math.trunc(n);
    const radix = conv === 'o' ? 8 : 'xX'.includes(conv) ? 16 : 10;
    text = Math.abs(i).toString(radix);
    if (conv === 'X') text = text.toUpperCase();
    if (precision) text = text.padStart(Number(precision), '0');
    const sign = i < 0 ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
    const w = Number(width || 0);
    if (flags.includes('0') && !flags.includes('-') && sign.length + text.length < w) text = text.padStart(w - sign.length, '0');
    text = sign + text;
  } else if ('eEfFgG'.includes(conv)) {
    if (typeof value !== 'number') return undefined;
    const n = value;
    const p = precision === undefined || precision === '' ? 6 : Number(precision);
    text = 'eE'.includes(conv) ? exponential(n, p).replace(/e([+-])(\d)$/, 'e$10$2') : 'fF'.includes(conv) ? fixed(n, p) : String(Number(n.toPrecision(Math.min(p || 1, 100))));
    if (conv === conv.toUpperCase()) text = text.toUpperCase();
  } else {
    text = conv === 'r' || conv === 'a' ? (typeof value === 'number' ? String(value) : pyRepr(value)) : String(value);
    if (precision !== undefined && precision !== '') text = text.slice(0, Number(precision));
  }
  const w = Number(width || 0);
  if (text.length < w) text = flags.includes('-') ? text.padEnd(w) : text.padStart(w);
  return text;
}

/** Python's repr of a str, enough for messages. */
export function pyRepr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
