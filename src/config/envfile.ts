const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

/**
 * `KEY=VALUE` lines as docker's and dotenv's `--env-file`: `#` comments, blank lines, an optional
 * `export `, values in single quotes (literal) or double quotes (`\n`, `\t`, `\r`, `\"`, `\\`),
 * and a ` # comment` after an unquoted or quoted value. Values are never interpolated.
 */
export function parseEnvFile(text: string): { env: Record<string, string>; errors: Array<{ line: number; message: string }> } {
  const env: Record<string, string> = {};
  const errors: Array<{ line: number; message: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!m) return void errors.push({ line: i + 1, message: `expected KEY=VALUE, got "${line}"` });
    const value = parseValue(m[2]);
    if (typeof value === 'object') return void errors.push({ line: i + 1, message: `${m[1]}: ${value.error}` });
    env[m[1]] = value;
  });
  return { env, errors };
}

function parseValue(text: string): string | { error: string } {
  const quote = text[0];
  if (quote !== '"' && quote !== "'") return text.replace(/(^|\s+)#.*$/, '');
  let value = '';
  let i = 1;
  for (; i < text.length && text[i] !== quote; i++) {
    if (quote === '"' && text[i] === '\\' && i + 1 < text.length) value += ESCAPES[text[++i]] ?? text[i];
    else value += text[i];
  }
  if (i >= text.length) return { error: `unterminated ${quote === '"' ? 'double' : 'single'} quote` };
  const rest = text.slice(i + 1).trim();
  if (rest !== '' && !rest.startsWith('#')) return { error: `unexpected text after the closing quote: "${rest}"` };
  return value;
}
