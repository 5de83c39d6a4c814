// The same "system browser" job as browser.mjs, but through real headless
// Chromium driven by playwright-core. Launched through $BROWSER:
//
//   node tests/idp/chromium-browser.mjs <authorization-url>
//
// Env:
//   PIXIE_TEST_CHROMIUM     Chromium binary (default /usr/bin/chromium)
//   PIXIE_TEST_LOGIN        login name typed into the form (default "alice")
//   PIXIE_TEST_SCENARIO     only "hang" (touch nothing, exit 0) and "deny"
//                           (press Cancel on the login page) are supported here
//   PIXIE_TEST_BROWSER_LOG  file to append JSON lines to: {"step":"authorize","url"},
//                           {"step":"callback","status","body":<page text>}, {"step":"error","message"}
// Note: like any real browser, Chromium also requests /favicon.ico from the
// loopback origin on its own.

import { appendFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const LOGIN = process.env.PIXIE_TEST_LOGIN || 'alice';
const EXECUTABLE = process.env.PIXIE_TEST_CHROMIUM || '/usr/bin/chromium';
const SCENARIO = new Set((process.env.PIXIE_TEST_SCENARIO || '').split(',').map((s) => s.trim()).filter(Boolean));
const LOG = process.env.PIXIE_TEST_BROWSER_LOG;

const log = (entry) => { if (LOG) appendFileSync(LOG, `${JSON.stringify(entry)}\n`); };

let browser;

async function main() {
  const authUrl = process.argv[2];
  if (!authUrl) throw new Error('usage: chromium-browser.mjs <authorization-url>');
  for (const s of SCENARIO) {
    if (!['hang', 'deny'].includes(s)) throw new Error(`PIXIE_TEST_SCENARIO entry not supported by chromium-browser.mjs: ${s}`);
  }

  log({ step: 'authorize', url: authUrl });
  if (SCENARIO.has('hang')) return;

  const redirectUri = new URL(new URL(authUrl).searchParams.get('redirect_uri') ?? '');
  const isCallback = (href) => {
    const u = new URL(href);
    return u.origin === redirectUri.origin && u.pathname === redirectUri.pathname;
  };

  browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      '--no-sandbox', // we run as root
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-proxy-server',
      // There is no internet; the dev login pages @import Google web fonts.
      // Fail every name lookup but the loopback at once instead of hanging.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);

  let callbackStatus;
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && isCallback(r.url())) {
      callbackStatus = r.status();
    }
  });

  await page.goto(authUrl, { waitUntil: 'load' });
  // login page -> consent page -> loopback redirect (bounded)
  for (let i = 0; i < 6 && !isCallback(page.url()); i += 1) {
    const prompt = await page.locator('input[name="prompt"]').getAttribute('value', { timeout: 5000 })
      .catch(() => null);
    if (prompt === 'login') {
      if (SCENARIO.has('deny')) {
        await page.click('text=[ Cancel ]');
      } else {
        await page.fill('input[name="login"]', LOGIN);
        await page.fill('input[name="password"]', 'any-password');
        await page.click('button[type="submit"]');
      }
    } else if (prompt === 'consent') {
      await page.click('button[type="submit"]');
    } else {
      const text = await page.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      throw new Error(`unrecognised page at ${page.url()}: ${text.slice(0, 500)}`);
    }
    await page.waitForLoadState('load');
  }
  if (!isCallback(page.url())) throw new Error(`never reached the redirect_uri; stuck at ${page.url()}`);

  await page.waitForLoadState('load');
  const body = await page.evaluate(() => document.body?.innerText ?? '');
  log({ step: 'callback', status: callbackStatus ?? null, body });
}

try {
  await main();
  await browser?.close();
  process.exit(0);
} catch (err) {
  const message = String(err?.message ?? err);
  log({ step: 'error', message });
  process.stderr.write(`chromium-browser.mjs: ${message}\n`);
  await browser?.close().catch(() => {});
  process.exit(1);
}
