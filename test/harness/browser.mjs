// Headless Debian Chromium driven by playwright-core (its own browser download cannot work here).
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.RINGDB_CHROMIUM ?? '/usr/bin/chromium';

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}
