// The page's script and style, inside the bundle (no CDN, nothing read from disk at run time).
// Their path carries a hash of their content, so a browser may keep them for a year. Hashed and
// gzipped on the first page served, not at start-up (crypto and zlib cost start-up time).
import CSS from './assets/app.css' with { type: 'text' };
import JS from './assets/app.js' with { type: 'text' };

export interface Asset {
  path: string;
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

function asset(name: string, ext: string, type: string, text: string): Asset {
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const { gzipSync } = require('node:zlib') as typeof import('node:zlib');
  const body = Buffer.from(text);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/web/${name}.${hash}.${ext}`, type, body, gzipped: gzipSync(body, { level: 9 }) };
}

let made: { css: Asset; js: Asset; byPath: Map<string, Asset> } | undefined;

export function webAssets(): NonNullable<typeof made> {
  if (!made) {
    const css = asset('app', 'css', 'text/css; charset=utf-8', CSS);
    const js = asset('app', 'js', 'text/javascript; charset=utf-8', JS);
    made = { css, js, byPath: new Map([css, js].map((a) => [a.path, a])) };
  }
  return made;
}
