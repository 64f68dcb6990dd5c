import type { IncomingMessage } from 'node:http';

/**
 * Whether a request comes from a page of another origin (SPEC §8: refused with 403 before
 * anything is done). The `Origin` header decides, or without one the `Referer`; a request with
 * neither (curl, ctl, supervisorctl) is not a browser's cross-site request. The page's origin is
 * the `Host` it was asked for; either scheme counts, so a TLS proxy in front changes nothing.
 * `Origin: null` (a sandboxed frame, a redirect from elsewhere) is foreign.
 */
export function foreignOrigin(req: IncomingMessage): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  if (source === undefined) return false;
  const host = req.headers.host;
  if (!host) return true;
  try {
    const from = new URL(source);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return true;
    return from.host !== new URL(`${from.protocol}//${host}`).host;
  } catch {
    return true;
  }
}
