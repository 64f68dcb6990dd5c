/**
 * `${VAR}`, `${VAR:-default}` (used when VAR is unset or empty, as in sh), `${VAR:?message}`
 * (an error when unset or empty) and `$$` for a literal `$`. A bare `$VAR` is left alone: it
 * belongs to the program's shell. An unset `${VAR}` without a default becomes empty, as in
 * docker compose.
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv): { value: string; error?: string } {
  if (!text.includes('$')) return { value: text };
  let error: string | undefined;
  const value = text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^}\\]|\\.)*))?\}/g, (whole, name, op, arg) => {
    if (whole === '$$') return '$';
    const current = env[name];
    const missing = op?.startsWith(':') ? !current : current === undefined;
    if (op?.endsWith('-')) return missing ? arg : current!;
    if (op?.endsWith('?')) {
      if (missing) error ??= `${name} is required: ${arg || 'not set'}`;
      return current ?? '';
    }
    return current ?? '';
  });
  return { value, error };
}
