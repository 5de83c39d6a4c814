// Harness for Pixie's desktop end-to-end tests: the test OpenID Provider, tauri-driver (which
// starts WebKitWebDriver, which starts pixie-desktop), a WebDriver session, the keychain and the
// clipboard. Every process it starts is killed in stop()/stopAll(), also when a test fails.
//
// Needs (scripts/e2e sets all of it up): DISPLAY (Xvfb), a private Secret Service
// (scripts/with-keyring), tauri-driver, xclip, secret-tool, and the release app.
//
// Env:
//   PIXIE_DESKTOP_BIN  the app (default ${CARGO_TARGET_DIR:-~/.cache/pixie/target}/release/pixie-desktop)
//   TAURI_DRIVER       tauri-driver (default: on PATH, else ~/.cache/pixie/tools/bin/tauri-driver)
//   PIXIE_E2E_ARTIFACTS  where logs and screenshots go (default tests/e2e/artifacts)

import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
export const ARTIFACTS = process.env.PIXIE_E2E_ARTIFACTS || path.join(HERE, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

const targetDir = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/pixie/target');
export const APP_BIN = process.env.PIXIE_DESKTOP_BIN || path.join(targetDir, 'release/pixie-desktop');
/** The `pixie` CLI that asks the app's token broker (scripts/e2e builds it beside the app). */
export const CLI_BIN = process.env.PIXIE_CLI_BIN || path.join(targetDir, 'release/pixie');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- processes --------------------------------------------------------------------------------

const children = new Set(); // ChildProcess, each the leader of its own process group

/** Children of `pid`, recursively (from /proc), so nothing survives a kill. */
export function descendants(pid) {
  const byParent = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (p) => { for (const c of byParent.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** SIGTERM the process, its group and every descendant; SIGKILL what is left after `graceMs`. */
export async function killTree(child, graceMs = 2000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const pids = [child.pid, ...descendants(child.pid)];
  const signal = (sig) => {
    try { process.kill(-child.pid, sig); } catch { /* no group */ }
    for (const p of pids) { try { process.kill(p, sig); } catch { /* gone */ } }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(50);
  if (pids.some(alive)) signal('SIGKILL');
  children.delete(child);
}

export async function stopAll() {
  await Promise.all([...children].map((c) => killTree(c, 1000)));
}

// Last resort when the runner ends or is stopped (timeout, Ctrl-C): no orphaned app or driver.
function killAllNow() {
  for (const c of children) {
    for (const p of [c.pid, ...descendants(c.pid)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

function start(cmd, args, { env = process.env, log } = {}) {
  const out = log ? fs.openSync(log, 'a') : 'ignore';
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', out] });
  if (log) fs.closeSync(out);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

/** The last `lines` lines of a log file (for failure messages). */
export function tail(file, lines = 40) {
  try {
    const all = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ---- the test OpenID Provider -----------------------------------------------------------------

export class Provider {
  static async start({ logName = 'provider' } = {}) {
    const log = path.join(ARTIFACTS, `${logName}.log`);
    fs.writeFileSync(log, '');
    const child = start('node', [path.join(REPO, 'tests/idp/provider.mjs')], { log });
    const rl = createInterface({ input: child.stdout });
    const line = await Promise.race([
      new Promise((resolve) => rl.once('line', resolve)),
      new Promise((_, reject) => child.once('exit', (c) => reject(new Error(`provider exited (${c}): ${tail(log)}`)))),
      // Loading oidc-provider from a cold page cache (after a big build) has taken over 15 s.
      sleep(60000).then(() => { throw new Error(`provider did not start within 60 s: ${tail(log)}`); }),
    ]);
    rl.close();
    const { issuer, control } = JSON.parse(line);
    return Object.assign(new Provider(), { child, issuer, control, log });
  }

  async ctl(pathAndQuery, method = 'POST') {
    const r = await fetch(`${this.control}${pathAndQuery}`, { method });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`provider control ${method} ${pathAndQuery}: HTTP ${r.status} ${JSON.stringify(body)}`);
    return body;
  }

  stats() { return this.ctl('/stats', 'GET'); }

  /** GET ${issuer}/me with the token: {status, body}. */
  async userinfo(token) {
    const r = await fetch(`${this.issuer}/me`, { headers: { authorization: `Bearer ${token}` } });
    const text = await r.text();
    let body = text;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body };
  }

  stop() { return killTree(this.child); }
}

// ---- the app, through tauri-driver ----------------------------------------------------------

export function tauriDriverBin() {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir, 'tauri-driver');
    if (dir && fs.existsSync(p)) return p;
  }
  return path.join(os.homedir(), '.cache/pixie/tools/bin/tauri-driver');
}

/**
 * A running pixie-desktop under WebDriver.
 *   app.browser   the webdriverio browser
 *   app.log       the file that collects tauri-driver's, WebKitWebDriver's and the app's stderr
 */
export class App {
  /**
   * @param {object} o
   * @param {string} o.name     artifact prefix (app-<name>.log)
   * @param {object} o.env      extra environment for the app (it inherits tauri-driver's)
   */
  static async start({ name, env }) {
    if (!fs.existsSync(APP_BIN)) throw new Error(`no app at ${APP_BIN}: build it with scripts/build-app`);
    if (!process.env.DISPLAY) throw new Error('DISPLAY is not set: run the tests through scripts/e2e (Xvfb)');
    const log = path.join(ARTIFACTS, `app-${name}.log`);
    fs.writeFileSync(log, '');
    const port = await freePort();
    const nativePort = await freePort();
    const driver = start(tauriDriverBin(), ['--port', String(port), '--native-port', String(nativePort)], {
      env: { ...process.env, ...env },
      log,
    });
    // tauri-driver's stdout is empty in practice; keep it in the log too.
    driver.stdout.on('data', (d) => fs.appendFileSync(log, d));
    const app = Object.assign(new App(), { name, log, driver, env });
    try {
      await waitForPort(port, 15000, 'tauri-driver');
      app.browser = await Promise.race([remote({
        hostname: '127.0.0.1',
        port,
        logLevel: 'silent',
        connectionRetryCount: 0,
        connectionRetryTimeout: 30000,
        waitforTimeout: 10000,
        capabilities: {
          browserName: 'wry',
          'wdio:enforceWebDriverClassic': true,
          'tauri:options': { application: APP_BIN },
        },
      }), app.#dies()]);
      app.settled = true;
    } catch (e) {
      app.settled = true;
      await app.stop();
      throw new Error(`could not start a WebDriver session with ${APP_BIN}: ${e.message}\n--- log tail (${log}) ---\n${tail(log)}`);
    }
    return app;
  }

  /** Rejects once the app has started and exited again (a crash at startup), or the driver died. */
  async #dies() {
    let seen = false;
    while (!this.settled) {
      await sleep(200);
      if (this.settled) return;
      if (this.driver.exitCode !== null || this.driver.signalCode !== null) {
        throw new Error(`tauri-driver exited (${this.driver.exitCode ?? this.driver.signalCode})`);
      }
      const pid = this.appPid();
      if (pid) seen = true;
      else if (seen) throw new Error('the app exited during startup');
      if (seen && /panicked at/.test(tail(this.log, 200))) throw new Error('the app panicked during startup');
    }
  }

  /** The pixie-desktop process (a descendant of tauri-driver), or null. */
  appPid() {
    for (const p of descendants(this.driver.pid)) {
      try {
        // comm is the executable's name cut to 15 bytes.
        if (fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === path.basename(APP_BIN).slice(0, 15)) return p;
      } catch { /* gone */ }
    }
    return null;
  }

  $(testid, extra = '') { return this.browser.$(`[data-testid="${testid}"]${extra}`); }

  row(profile) { return this.$('profile-row', `[data-profile="${profile}"]`); }

  /** Wait until fn() returns a truthy value; the error names `what`, the last value seen and the log. */
  async waitFor(what, fn, { timeout = 15000, interval = 200 } = {}) {
    const deadline = Date.now() + timeout;
    let last;
    let lastErr;
    while (Date.now() < deadline) {
      try {
        last = await fn();
        if (last) return last;
        lastErr = undefined;
      } catch (e) {
        lastErr = e;
      }
      await sleep(interval);
    }
    await this.screenshot(`FAILED-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
    const seen = lastErr ? `error: ${lastErr.message.split('\n')[0]}` : `last value: ${JSON.stringify(last)}`;
    throw new Error(`timed out after ${timeout / 1000} s waiting for ${what} (${seen})\n--- app log tail (${this.log}) ---\n${tail(this.log)}`);
  }

  /** Wait for an element by data-testid to be displayed; returns it. */
  async shown(testid, extra = '', opts = {}) {
    return this.waitFor(`[data-testid="${testid}"]${extra} to be displayed`, async () => {
      const el = await this.$(testid, extra);
      return (await el.isDisplayed()) ? el : false;
    }, opts);
  }

  async click(testid, extra = '') {
    const el = await this.shown(testid, extra);
    await this.#clickThroughNotices(el, `[data-testid="${testid}"]${extra}`);
    return el;
  }

  /**
   * Clicks; when a notice covers the element (they float above dialogs for a few seconds),
   * dismisses the notices and clicks again. Each time is counted in `this.coveredByNotice`.
   */
  async #clickThroughNotices(el, what) {
    try {
      await el.click();
    } catch (e) {
      if (!/intercepted/i.test(e.message)) throw e;
      this.coveredByNotice = [...(this.coveredByNotice ?? []), what];
      this.mark(`a notice covered ${what}; dismissing the notices and clicking again`);
      await this.browser.execute(() => {
        for (const b of document.querySelectorAll('[data-testid="notice"] button')) b.click();
      });
      await sleep(200);
      await el.click();
    }
  }

  async fill(testid, value) {
    const el = await this.shown(testid);
    await el.clearValue();
    if (value !== '') await el.setValue(value);
    // Svelte's bind:value listens to input events; make sure the last one happened.
    await this.waitFor(`${testid} to hold ${JSON.stringify(value)}`, async () => (await el.getValue()) === value, { timeout: 3000 });
    return el;
  }

  async state(profile) {
    const row = await this.row(profile);
    return (await row.isExisting()) ? row.getAttribute('data-state') : null;
  }

  /** Wait until the profile's row is in `state` (one of several when an array). */
  async waitState(profile, state, opts = {}) {
    const want = Array.isArray(state) ? state : [state];
    let seen = null;
    try {
      const got = await this.waitFor(`profile ${profile} to be ${want.join('|')}`, async () => {
        seen = await this.state(profile);
        return want.includes(seen) ? seen : false;
      }, opts);
      this.mark(`row ${profile} is ${got}`);
      return got;
    } catch (e) {
      const reason = await this.rowText(profile, 'reason');
      throw new Error(`${e.message.split('\n')[0]}; row state=${seen} reason=${JSON.stringify(reason)}\n${e.message.split('\n').slice(1).join('\n')}`);
    }
  }

  /** A timestamped line in the app's log, to line up the test's view with the app's. */
  mark(text) {
    fs.appendFileSync(this.log, `${new Date().toISOString()} e2e: ${text}\n`);
  }

  async rowText(profile, testid) {
    try {
      const el = await (await this.row(profile)).$(`[data-testid="${testid}"]`);
      return (await el.isExisting()) ? el.getText() : null;
    } catch {
      return null;
    }
  }

  async clickInRow(profile, testid) {
    const el = await this.waitFor(`${testid} in row ${profile}`, async () => {
      const b = await (await this.row(profile)).$(`[data-testid="${testid}"]`);
      return (await b.isExisting()) && (await b.isDisplayed()) ? b : false;
    });
    await this.#clickThroughNotices(el, `${testid} in row ${profile}`);
  }

  async screenshot(name) {
    const file = path.join(ARTIFACTS, `${name}.png`);
    if (process.env.PIXIE_E2E_X11_SHOTS) {
      try { execFileSync('import', ['-window', 'root', file.replace(/\.png$/, '-x11.png')], { stdio: 'ignore', timeout: 10000 }); } catch { /* best effort */ }
    }
    // Let WebKit paint what the DOM holds now (two frames) before taking the picture.
    await Promise.race([
      this.browser.executeAsync((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))).catch(() => {}),
      sleep(1000),
    ]);
    try {
      await this.browser.saveScreenshot(file);
    } catch {
      execFileSync('import', ['-window', 'root', file], { stdio: 'ignore', timeout: 10000 });
    }
    return file;
  }

  /** The IPC tap the app injects with PIXIE_IPC_TAP=1. */
  async ipcTap() {
    return this.browser.execute(() => JSON.stringify(window.__PIXIE_IPC_TAP__ ?? null));
  }

  async stop() {
    if (this.browser) {
      try {
        await Promise.race([this.browser.deleteSession(), sleep(5000)]);
      } catch { /* the app may be gone */ }
      this.browser = null;
    }
    await killTree(this.driver);
  }
}

// ---- keychain and clipboard -------------------------------------------------------------------

/**
 * The account names (`username` attribute) stored under a keychain service. secret-tool prints
 * the attributes of what `search` finds on stderr (the secrets on stdout).
 */
export function keychainNames(service) {
  const r = spawnSync('secret-tool', ['search', '--all', '--unlock', 'service', service], {
    encoding: 'utf8', timeout: 10000,
  });
  if (r.error) throw new Error(`secret-tool: ${r.error.message}`);
  return [...r.stderr.matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]);
}

/** The secret stored for service/account, or null. */
export function keychainLookup(service, account) {
  const r = spawnSync('secret-tool', ['lookup', 'service', service, 'username', account], {
    encoding: 'utf8', timeout: 10000,
  });
  if (r.error) throw new Error(`secret-tool: ${r.error.message}`);
  return r.status === 0 ? r.stdout.replace(/\n$/, '') : null;
}

/**
 * The stored session of a profile, parsed (vault.rs: account `session:<profile>`, value
 * `1:<json>` inline or `1c:<generation>:<count>` with parts `session:<profile>#<generation>.<i>`).
 */
export function storedSession(service, profile) {
  const head = keychainLookup(service, `session:${profile}`);
  if (head === null) return null;
  let json;
  if (head.startsWith('1:')) json = head.slice(2);
  else {
    const m = head.match(/^1c:([^:]+):(\d+)$/);
    if (!m) throw new Error(`unknown keychain entry format for session:${profile}: ${head.slice(0, 20)}…`);
    json = '';
    for (let i = 0; i < Number(m[2]); i += 1) json += keychainLookup(service, `session:${profile}#${m[1]}.${i}`) ?? '';
  }
  return JSON.parse(json);
}

/** The secrets in a stored session: access, refresh and ID token. */
export function sessionTokens(session) {
  return [session?.access_token, session?.refresh_token, session?.id_token?.jwt].filter((t) => typeof t === 'string' && t.length > 0);
}

export function readClipboard() {
  try {
    return execFileSync('xclip', ['-o', '-selection', 'clipboard'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

// ---- profiles files ----------------------------------------------------------------------------

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** profiles.toml with `n` issuer profiles pointing at `issuer`. */
export function profilesToml(n, issuer, { prefix = 'profile', clientId = 'pixie-test' } = {}) {
  let s = 'version = 1\n';
  for (let i = 1; i <= n; i += 1) {
    const name = `${prefix}-${String(i).padStart(String(n).length, '0')}`;
    s += `\n[[profiles]]\nname = "${name}"\nissuer = "${issuer}"\nclient_id = "${clientId}"\nscopes = ["openid", "offline_access"]\n`;
  }
  return s;
}
