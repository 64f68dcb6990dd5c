/** `KEY=VALUE` lines: `#` comments, blank lines, optional `export `, quotes, `\n` in double quotes. */
export function parseEnvFile(text: string): { env: Record<string, string>; errors: Array<{ line: number; message: string }> } {
  const env: Record<string, string> = {};
  const errors: Array<{ line: number; message: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!m) return errors.push({ line: i + 1, message: `expected KEY=VALUE, got "${line}"` });
    let value = m[2];
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1).replace(/\\(.)/g, (_, c) => ({ n: '\n', t: '\t', r: '\r' })[c as 'n'] ?? c);
    } else if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1);
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    env[m[1]] = value;
  });
  return { env, errors };
}
