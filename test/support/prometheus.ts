// A strict parser of the Prometheus text exposition format (0.0.4), for the /metrics tests:
// anything a Prometheus server would reject (or that the format forbids) throws with the line.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value "${text}"`);
  return Number(text);
}

/** The family a sample belongs to: its own name, or a histogram/summary base name. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const f = families.get(base);
  return f && (f.type === 'histogram' || f.type === 'summary') ? f : undefined;
}

export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const closed = new Set<string>();
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC.test(name)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name);
      if (f && f !== current) throw new Error(`${where}: family ${name} is not contiguous`);
      if (!f) {
        if (current) closed.add(current.name);
        f = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, f);
        current = f;
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type "${rest}"`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples`);
        f.type = rest;
      } else f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample`);
    const [, name, , labelText = '', valueText] = m;
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest.length > 0) {
      const lm = /^([^=]+)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest);
      if (!lm || !LABEL.test(lm[1])) throw new Error(`${where}: bad label list at ${JSON.stringify(rest)}`);
      if (lm[1] in labels) throw new Error(`${where}: label ${lm[1]} twice`);
      labels[lm[1]] = lm[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(lm[0].length);
      if (lm[3] === ',' && rest.length === 0) break; // a trailing comma is allowed
    }
    let f = familyOf(name, families);
    if (!f) {
      if (current) closed.add(current.name);
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
      current = f;
    }
    if (f !== current || closed.has(f.name)) throw new Error(`${where}: family ${f.name} is not contiguous`);
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',')}}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    seen.add(key);
    const value = parseValue(valueText, where);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`${where}: a counter must not be negative`);
    f.samples.push({ name, labels, value });
  });
  return families;
}
