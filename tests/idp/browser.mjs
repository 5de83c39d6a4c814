// Scripted "system browser" for Pixie's tests, launched through $BROWSER:
//
//   node tests/idp/browser.mjs <authorization-url>
//
// Plain fetch (redirect: 'manual') plus a small cookie jar. It walks the
// authorization URL through oidc-provider's devInteractions login and consent
// forms, then GETs the loopback redirect (Pixie's listener) and exits 0.
//
// Env:
//   PIXIE_TEST_LOGIN        login name typed into the form (default "alice")
//   PIXIE_TEST_SCENARIO     comma-separated, any of:
//     forged     first GET <redirect path>?code=forged&state=wrong-state on the loopback
//     favicon    first GET /favicon.ico on the loopback origin
//     deny       press "Cancel" on the login page -> callback carries error=access_denied
//     hang       fetch nothing, exit 0 (the user closed the browser)
//     wrong-iss  send the real callback with iss=http://evil.example, then stop
//     slow       sleep 1 s before the final callback
//     device-deny  on a device-flow confirmation page, press "Abort"
//     remote     stop short of the loopback callback, as a browser on another machine does
//                (its 127.0.0.1 is not Pixie's), and log the address it would load
//
// The URL may also be a device flow's verification_uri_complete (/device?user_code=…): the
// script confirms the code, signs in, consents and stops at the provider's success page. A
// pushed (PAR) authorization URL carries no redirect_uri: the callback is then the first hop
// to another port on the loopback.
//   PIXIE_TEST_SCENARIO_FILE  a file whose text is read as more PIXIE_TEST_SCENARIO entries at each
//                           start (a long-running app keeps its environment; a test can change this)
//   PIXIE_TEST_BROWSER_LOG  file to append one JSON line per step to:
//     {"step":"authorize","url"} {"step":"favicon","status"} {"step":"forged","status","body"}
//     {"step":"wrong-iss","status","body"} {"step":"callback","status","body","code"}
//     {"step":"device-done"} {"step":"device-denied"} {"step":"landed","url"} {"step":"error","message"}
// Errors go to stderr and exit 1.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';

const LOGIN = process.env.PIXIE_TEST_LOGIN || 'alice';
const scenarioFile = process.env.PIXIE_TEST_SCENARIO_FILE;
const scenarioText = [
  process.env.PIXIE_TEST_SCENARIO || '',
  scenarioFile && existsSync(scenarioFile) ? readFileSync(scenarioFile, 'utf8') : '',
].join(',');
const SCENARIO = new Set(scenarioText.split(',').map((s) => s.trim()).filter(Boolean));
const LOG = process.env.PIXIE_TEST_BROWSER_LOG;
const KNOWN = ['forged', 'favicon', 'deny', 'hang', 'wrong-iss', 'slow', 'device-deny', 'remote'];

const log = (entry) => { if (LOG) appendFileSync(LOG, `${JSON.stringify(entry)}\n`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a minimal cookie jar -----------------------------------------------------
// Like a real browser, cookies are keyed by host (not port) and path.
const jar = new Map(); // `${host}|${path}|${name}` -> {host, path, name, value}

function storeCookies(url, headers) {
  for (const line of headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
    let expired = false;
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.toLowerCase();
      if (key === 'path') path = v || '/';
      if (key === 'max-age' && Number(v) <= 0) expired = true;
      if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
    }
    const id = `${url.hostname}|${path}|${name}`;
    if (expired) jar.delete(id); else jar.set(id, { host: url.hostname, path, name, value });
  }
}

function cookieHeader(url) {
  const matches = (p) => url.pathname === p || url.pathname.startsWith(p.endsWith('/') ? p : `${p}/`);
  return [...jar.values()]
    .filter((c) => c.host === url.hostname && matches(c.path))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

async function request(url, { method = 'GET', form } = {}) {
  const headers = { 'user-agent': 'pixie-test-browser/1' };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(url, {
    method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15000),
  });
  storeCookies(url, res.headers);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

// ---- HTML scraping of the devInteractions pages ---------------------------------
// Readable text of an HTML page for error messages.
const textOf = (html) => unescape(html.replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ')
  .replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 500);

const unescape = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
  .replace(/&lt;/g, '<').replace(/&gt;/g, '>');

// A post form made only of hidden inputs (no login/consent prompt): {action, fields}, else null.
function hiddenForm(html) {
  const form = html.match(/<form[^>]*method="post"[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i);
  if (!form || /name="prompt"/.test(form[2])) return null;
  const fields = {};
  for (const m of form[2].matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/?>/gi)) {
    fields[m[1]] = unescape(m[2]);
  }
  return Object.keys(fields).length ? { action: unescape(form[1]), fields } : null;
}

function parseInteraction(html) {
  const action = html.match(/<form[^>]*action="([^"]*)"[^>]*method="post"/i)?.[1];
  const prompt = html.match(/<input type="hidden" name="prompt" value="([^"]*)"/i)?.[1];
  const abort = html.match(/<a href="([^"]*)">\[ Cancel \]<\/a>/i)?.[1];
  return {
    action: action && unescape(action),
    prompt,
    abort: abort && unescape(abort),
  };
}

// ---- main ---------------------------------------------------------------------------
async function main() {
  const authUrl = process.argv[2];
  if (!authUrl) throw new Error('usage: browser.mjs <authorization-url>');
  for (const s of SCENARIO) if (!KNOWN.includes(s)) throw new Error(`unknown PIXIE_TEST_SCENARIO entry: ${s}`);

  log({ step: 'authorize', url: authUrl });
  if (SCENARIO.has('hang')) return; // the user closed the browser: touch nothing

  const start = new URL(authUrl);
  // A sign-in names its redirect_uri; an RP-initiated logout its post_logout_redirect_uri.
  const declared = start.searchParams.get('redirect_uri') ?? start.searchParams.get('post_logout_redirect_uri');
  const redirectUri = declared ? new URL(declared) : null;
  const isCallback = (u) => (redirectUri
    ? u.origin === redirectUri.origin && u.pathname === redirectUri.pathname
    : u.origin !== start.origin && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname));
  if (!redirectUri && (SCENARIO.has('favicon') || SCENARIO.has('forged'))) {
    throw new Error('favicon/forged need a redirect_uri in the authorization URL');
  }

  if (SCENARIO.has('favicon')) {
    const r = await request(new URL('/favicon.ico', redirectUri.origin));
    log({ step: 'favicon', status: r.status });
  }
  if (SCENARIO.has('forged')) {
    const forged = new URL(redirectUri.pathname, redirectUri.origin);
    forged.search = '?code=forged&state=wrong-state';
    const r = await request(forged);
    log({ step: 'forged', status: r.status, body: r.text });
  }

  let url = new URL(authUrl);
  let next = { method: 'GET' };
  for (let hop = 0; hop < 30; hop += 1) {
    if (isCallback(url)) {
      if (SCENARIO.has('remote')) {
        log({ step: 'landed', url: url.href });
        return;
      }
      if (SCENARIO.has('wrong-iss')) {
        const evil = new URL(url);
        evil.searchParams.set('iss', 'http://evil.example');
        const r = await request(evil);
        log({ step: 'wrong-iss', status: r.status, body: r.text });
        return;
      }
      if (SCENARIO.has('slow')) await sleep(1000);
      const r = await request(url);
      // The code is single-use and already spent; it is logged so the leak test can look for it.
      log({ step: 'callback', status: r.status, body: r.text, code: url.searchParams.get('code') });
      return;
    }

    const r = await request(url, next);
    next = { method: 'GET' };
    if (r.status >= 300 && r.status < 400 && r.headers.get('location')) {
      url = new URL(r.headers.get('location'), url);
      continue;
    }
    if (r.status !== 200) {
      throw new Error(`unexpected HTTP ${r.status} from ${url}: ${textOf(r.text)}`);
    }

    if (/<title>Sign-in Success<\/title>/.test(r.text)) {
      log({ step: 'device-done' });
      return;
    }
    const hidden = hiddenForm(r.text);
    if (hidden) {
      // oidc-provider's self-submitting form_post page, or the device confirmation page.
      // The end-session confirmation: "Yes, sign me out".
      if (/<title>Logout Request<\/title>/.test(r.text)) hidden.fields.logout = 'yes';
      if (hidden.fields.confirm === 'yes' && SCENARIO.has('device-deny')) {
        delete hidden.fields.confirm;
        hidden.fields.abort = 'yes';
        await request(new URL(hidden.action, url), { method: 'POST', form: hidden.fields });
        log({ step: 'device-denied' });
        return;
      }
      url = new URL(hidden.action, url);
      next = { method: 'POST', form: hidden.fields };
      continue;
    }
    const page = parseInteraction(r.text);
    if (page.prompt === 'login') {
      if (SCENARIO.has('deny')) {
        if (!page.abort) throw new Error(`no Cancel link on the login page at ${url}`);
        url = new URL(page.abort, url);
        continue;
      }
      url = new URL(page.action, url);
      next = { method: 'POST', form: { prompt: 'login', login: LOGIN, password: 'any-password' } };
    } else if (page.prompt === 'consent') {
      url = new URL(page.action, url);
      next = { method: 'POST', form: { prompt: 'consent' } };
    } else {
      throw new Error(`unrecognised page at ${url}: ${textOf(r.text)}`);
    }
  }
  throw new Error('too many redirects/pages without reaching the redirect_uri');
}

try {
  await main();
  process.exit(0);
} catch (err) {
  const message = err?.cause ? `${err.message}: ${err.cause.message ?? err.cause}` : String(err?.message ?? err);
  log({ step: 'error', message });
  process.stderr.write(`browser.mjs: ${message}\n`);
  process.exit(1);
}
