// The page's script and style, inside the bundle (no CDN, nothing read from disk at run time).
// Their path carries a hash of their content, so a browser may keep them for a year.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import CSS from './assets/app.css' with { type: 'text' };
import JS from './assets/app.js' with { type: 'text' };

export interface Asset {
  path: string;
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

function asset(name: string, ext: string, type: string, text: string): Asset {
  const body = Buffer.from(text);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/web/${name}.${hash}.${ext}`, type, body, gzipped: gzipSync(body, { level: 9 }) };
}

export const ASSETS = {
  css: asset('app', 'css', 'text/css; charset=utf-8', CSS),
  js: asset('app', 'js', 'text/javascript; charset=utf-8', JS),
};

export const ASSET_BY_PATH = new Map(Object.values(ASSETS).map((a) => [a.path, a]));
