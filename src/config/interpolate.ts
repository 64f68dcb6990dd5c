import path from 'node:path';
import { readSecretFile } from './secrets';

/** Where `${file:PATH}` is read from, and where the secrets read are collected. */
export interface FileContext {
  /** Relative paths are resolved against the config file's directory. */
  dir: string;
  secrets: Set<string>;
}

/**
 * `${file:PATH}` (SPEC §11) is PATH's content, one trailing newline removed, when `files` is given.
 * `${VAR}`, `${VAR:-default}` (used when VAR is unset or empty, as in sh), `${VAR:?message}`
 * (an error when unset or empty) and `$$` for a literal `$`. The colon-less sh forms `${VAR-x}`
 * and `${VAR?x}` look at "unset" only. A bare `$VAR` is left alone: it belongs to the program's
 * shell. An unset `${VAR}` without a default becomes empty, as in docker compose (a `${VAR:?}`
 * is the way to make it required). A `${` that is none of these forms is an error rather than
 * being passed through, so a typo like `${PORT:=80}` is not silently kept as text.
 */
export function interpolate(text: string, env: NodeJS.ProcessEnv, files?: FileContext): { value: string; error?: string } {
  if (!text.includes('$')) return { value: text };
  let error: string | undefined;
  const value = text.replace(/\$\$|\$\{([^}]*)\}?/g, (whole, inner: string | undefined) => {
    if (whole === '$$') return '$';
    if (files && whole.endsWith('}') && inner?.startsWith('file:')) {
      const file = path.resolve(files.dir, inner.slice(5));
      try {
        const content = readSecretFile(file);
        files.secrets.add(content);
        return content;
      } catch (err) {
        error ??= `\${file:${inner.slice(5)}}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        return '';
      }
    }
    const m = whole.endsWith('}') ? /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([\s\S]*))?$/.exec(inner ?? '') : null;
    if (!m) {
      error ??= `invalid interpolation "${whole}": expected \${VAR}, \${VAR:-default} or \${VAR:?message} (write $$ for a literal $)`;
      return whole;
    }
    const [, name, op, arg] = m;
    const current = env[name];
    const missing = op?.startsWith(':') ? !current : current === undefined;
    if (op?.endsWith('-')) return missing ? arg : current!;
    if (op?.endsWith('?')) {
      if (missing) error ??= `${name} is required: ${arg || (current === undefined ? 'not set' : 'empty')}`;
      return current ?? '';
    }
    return current ?? '';
  });
  return { value, error };
}
