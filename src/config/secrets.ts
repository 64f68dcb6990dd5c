// Secrets from files (SPEC §11): `${file:PATH}` in a config string and RINGMASTER_<SETTING>_FILE.
// Their values are collected as the config is read, so every place ringmaster shows text of its
// own (its lines, config problems, the APIs) can hide them with one redactor.
import { readConfigText } from './read-file';

/** A secret is small (a password, a token, a certificate); a larger file is a mistake. */
export const MAX_SECRET_BYTES = 1024 * 1024;
/** Shorter values are not hidden: replacing every "1" or "on" in every line would garble the output, not protect. */
export const MIN_REDACTED_LENGTH = 4;
export const REDACTED = '[redacted]';

/** The file's content with one trailing newline removed (what `echo x > file` adds). Throws with why. */
export function readSecretFile(file: string): string {
  return readConfigText(file, MAX_SECRET_BYTES).replace(/\r?\n$/, '');
}

/** A function that replaces every secret value in a text by REDACTED; the identity when there is none. */
export function redactor(secrets: Iterable<string>): (text: string) => string {
  const values = [...new Set(secrets)].filter((s) => s.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  // Longest first, so a secret that contains another is hidden whole; any case, as a message may
  // quote a value lowercased ("expected true or false, got …").
  const re = new RegExp(values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gi');
  return (text) => (text.length < MIN_REDACTED_LENGTH ? text : text.replace(re, REDACTED));
}
