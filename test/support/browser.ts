// Debian's chromium, headless, driven by puppeteer-core: for the web interface's tests. Where it
// is missing the browser tests skip with a reason, except in CI, where .ci/run installs it.
import { spawnSync } from 'node:child_process';
import puppeteer, { type Browser } from 'puppeteer-core';

export function chromiumPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim().split('\n')[0] : null;
}

/** Why the browser tests cannot run here, or null; throws where they must run (CI). */
export function noBrowserReason(): string | null {
  if (chromiumPath()) return null;
  const why = 'chromium is not installed (apt-get install chromium)';
  if (process.env.CI === 'true' || process.env.RINGMASTER_DOCKER_REQUIRED) throw new Error(`${why}: the web interface's browser test must run here`);
  return why;
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath()!,
    headless: true,
    // Root in a container: chromium's sandbox needs user namespaces it may not have.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    protocolTimeout: 30_000,
  });
}
