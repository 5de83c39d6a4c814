// End-to-end tests of the Pixie desktop app: the release binary under tauri-driver, a real
// OpenID Provider (tests/idp/provider.mjs), the real Secret Service (gnome-keyring in a private
// D-Bus session), the scripted system browser (tests/idp/browser.mjs via $BROWSER) and the X
// clipboard. Run them with scripts/e2e; logs and screenshots land in tests/e2e/artifacts/.
//
// One app session runs the steps in order (each step needs the state the previous one left);
// once a step fails the later ones are skipped rather than failing for the same reason.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  App, ARTIFACTS, CLI_BIN, Provider, REPO, keychainNames, readClipboard, sessionTokens, sleep, stopAll,
  storedSession, tmpDir,
} from './harness.mjs';

const PROFILE = 'test-idp';
const SCOPES = 'openid offline_access profile email';
const SERVICE = `pixie-e2e-${process.pid}-${Date.now()}`;

describe('pixie-desktop', { timeout: 240_000 }, () => {
  let idp;
  let app;
  let home;
  let socket;
  let failed = null;
  /** What the scripted browser does next (e.g. "hang": the person closed the browser). */
  const scenarioFile = path.join(ARTIFACTS, 'browser-scenario.txt');
  /** Every token value seen during the run (clipboard and keychain). */
  const tokens = new Set();

  const collect = (...values) => { for (const v of values) if (typeof v === 'string' && v.length >= 8) tokens.add(v); };
  const collectFromKeychain = () => {
    const s = storedSession(SERVICE, PROFILE);
    collect(...sessionTokens(s));
    return s;
  };

  // Each step is skipped once an earlier one failed: its state would be wrong anyway.
  const step = (name, fn, opts = {}) => it(name, opts, async (t) => {
    if (failed) { t.skip(`an earlier step failed: ${failed}`); return; }
    app.mark(`step: ${name}`);
    try {
      await fn(t);
    } catch (e) {
      failed = name;
      await app?.screenshot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
      throw e;
    }
  });

  before(async () => {
    // Screenshots of an earlier run would mislead (scripts/e2e clears the whole directory).
    for (const f of fs.readdirSync(ARTIFACTS)) {
      if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));
    }
    fs.writeFileSync(path.join(ARTIFACTS, 'browser.log'), '');
    idp = await Provider.start();
    home = tmpDir('pixie-e2e-home.');
    const xdg = tmpDir('pixie-e2e-xdg.');
    // The app's token broker, where the CLI below asks (the broker makes the directory).
    socket = path.join(xdg, 'run', 'agent.sock');
    app = await App.start({
      name: 'main',
      env: {
        PIXIE_HOME: home,
        PIXIE_KEYRING_SERVICE: SERVICE,
        BROWSER: `node ${path.join(REPO, 'tests/idp/browser.mjs')}`,
        PIXIE_TEST_LOGIN: 'alice',
        PIXIE_TEST_BROWSER_LOG: path.join(ARTIFACTS, 'browser.log'),
        PIXIE_TEST_SCENARIO_FILE: scenarioFile,
        PIXIE_IPC_TAP: '1',
        PIXIE_AGENT_SOCKET: socket,
        PIXIE_LOG: 'debug',
        NO_AT_BRIDGE: '1',
        ...(process.env.PIXIE_E2E_WEBKIT_ENV ? Object.fromEntries([process.env.PIXIE_E2E_WEBKIT_ENV.split('=')]) : {}),
        // WebKit's caches and Pixie's desktop settings start empty, as on a first run.
        XDG_CACHE_HOME: path.join(xdg, 'cache'),
        XDG_CONFIG_HOME: path.join(xdg, 'config'),
      },
    });
  });

  after(async () => {
    await app?.stop();
    await idp?.stop();
    await stopAll();
    if (home) fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(cliElsewhere, { recursive: true, force: true });
  });

  step('starts with an empty list and the IPC tap installed', async () => {
    await app.shown('add-profile', '', { timeout: 20000 });
    const rows = await app.browser.$$('[data-testid="profile-row"]');
    assert.equal(rows.length, 0, 'a fresh PIXIE_HOME has no profiles');
    const tap = JSON.parse(await app.ipcTap());
    assert.ok(Array.isArray(tap), 'window.__PIXIE_IPC_TAP__ is an array (PIXIE_IPC_TAP=1)');
  });

  step('a bad issuer URL gets a clear message next to the issuer field', async (t) => {
    await app.click('add-profile');
    await app.shown('profile-editor');
    await app.click('kind-issuer');

    await app.fill('field-issuer', 'not a url');
    await app.click('discover');
    const notUrl = await app.waitFor('error-issuer for "not a url"', async () => {
      const el = await app.$('error-issuer');
      return (await el.isDisplayed()) && (await el.getText()).trim();
    });
    assert.match(notUrl, /url|http/i, `the message says what is wrong: ${notUrl}`);
    t.diagnostic(`"not a url": ${notUrl}`);

    await app.fill('field-issuer', 'http://127.0.0.1:9/nowhere');
    await app.click('discover');
    const unreachable = await app.waitFor('error-issuer for an unreachable issuer', async () => {
      const el = await app.$('error-issuer');
      const text = (await el.isDisplayed()) && (await el.getText()).trim();
      return text && text !== notUrl ? text : false;
    }, { timeout: 20000 });
    assert.match(unreachable, /reach|connect|refused|unavailable|could not|cannot/i, `the message says the issuer is unreachable: ${unreachable}`);
    t.diagnostic(`unreachable: ${unreachable}`);
    await app.screenshot('bad-issuer');

    // The message sits next to the issuer field: inside the same form field group, right below it.
    const near = await app.browser.execute(() => {
      const input = document.querySelector('[data-testid="field-issuer"]');
      const err = document.querySelector('[data-testid="error-issuer"]');
      if (!input || !err) return null;
      const a = input.getBoundingClientRect();
      const b = err.getBoundingClientRect();
      return { gap: b.top - a.bottom, describedBy: input.getAttribute('aria-describedby'), errId: err.id };
    });
    assert.ok(near, 'field-issuer and error-issuer both exist');
    assert.ok(near.gap >= -2 && near.gap < 80, `error-issuer is right below field-issuer (gap ${near.gap}px)`);

    // Saving with a non-URL issuer is refused with the message at the issuer field as well.
    await app.fill('field-name', 'bad-issuer');
    await app.fill('field-issuer', 'not a url');
    await app.fill('field-client_id', 'pixie-test');
    await app.click('save');
    await app.shown('error-issuer');
    assert.ok(await (await app.$('profile-editor')).isDisplayed(), 'the editor stays open');
    await app.click('cancel');
    await app.waitFor('the editor to close', async () => !(await (await app.$('profile-editor')).isExisting()));
    assert.equal(await app.state('bad-issuer'), null, 'no profile was saved');
  });

  step('adds a profile through the form with Discover', async () => {
    await app.click('add-profile');
    await app.shown('profile-editor');
    await app.fill('field-name', PROFILE);
    await app.click('kind-issuer');
    await app.fill('field-issuer', idp.issuer);
    await app.click('discover');
    await app.shown('discover-result', '', { timeout: 20000 });
    const chips = await app.waitFor('scope chips from discovery', async () => {
      const els = await app.browser.$$('[data-testid="scope-chip"]');
      const texts = [];
      for (const el of els) texts.push((await el.getText()).trim());
      return texts.length > 0 ? texts : false;
    });
    for (const s of ['openid', 'offline_access', 'profile', 'email']) {
      assert.ok(chips.some((c) => c.includes(s)), `scope chip ${s} among ${chips.join(', ')}`);
    }
    await app.fill('field-client_id', 'pixie-test');
    await app.fill('field-scopes', SCOPES);
    // The chips follow the scopes field: all four pressed once the typing has landed.
    await app.waitFor('the four scope chips to be pressed', async () => {
      for (const s of SCOPES.split(' ')) {
        const chip = await app.$('scope-chip', `[data-scope="${s}"]`);
        if ((await chip.getAttribute('aria-pressed')) !== 'true') return false;
      }
      return true;
    }, { timeout: 5000 });
    await app.screenshot('editor-discovered');
    await app.click('save');
    await app.waitFor('the editor to close after Save', async () => !(await (await app.$('profile-editor')).isExisting()));
    await app.waitState(PROFILE, 'signed_out');

    const file = fs.readFileSync(path.join(home, 'profiles.toml'), 'utf8');
    assert.match(file, new RegExp(`name = "${PROFILE}"`));
    assert.match(file, new RegExp(`issuer = "${idp.issuer.replace(/[.]/g, '\\.')}/?"`));
    assert.match(file, /client_id = "pixie-test"/);
    for (const s of SCOPES.split(' ')) assert.match(file, new RegExp(`"${s}"`), `scope ${s} saved`);
  });

  step('signs in through the browser and shows a countdown', async () => {
    // Short-lived access tokens from now on, so the silent refresh happens within the test.
    await idp.ctl('/ttl?access=15');
    await app.clickInRow(PROFILE, 'sign-in');
    await app.waitState(PROFILE, 'signed_in', { timeout: 30000 });
    const countdown = await app.waitFor('a countdown in the row', async () => (await app.rowText(PROFILE, 'countdown'))?.trim());
    assert.ok(/\d/.test(countdown), `countdown shows a time: ${countdown}`);
    const subject = await app.rowText(PROFILE, 'subject');
    assert.match(subject ?? '', /alice/, 'the row shows the subject');
    await app.screenshot('signed-in');
    const s = collectFromKeychain();
    assert.ok(s?.access_token && s?.refresh_token, 'the keychain holds the session with a refresh token');
  });

  step('Copy token puts a working access token on the clipboard', async () => {
    const before = readClipboard();
    await app.clickInRow(PROFILE, 'copy-token');
    const notice = await app.waitFor('a "copied" notice', async () => {
      for (const el of await app.browser.$$('[data-testid="notice"]')) {
        const text = await el.getText();
        if (/copied/i.test(text)) return text;
      }
      return false;
    }, { timeout: 10000 });
    const token = await app.waitFor('a new token on the clipboard', async () => {
      const c = readClipboard().trim();
      return c && c !== before.trim() ? c : false;
    }, { timeout: 10000 });
    collect(token);
    const { status, body } = await idp.userinfo(token);
    assert.equal(status, 200, `${idp.issuer}/me accepts the copied token: ${JSON.stringify(body)}`);
    assert.equal(body.sub, 'alice');
    assert.ok(!notice.includes(token), 'the notice does not show the token');
  });

  step('the clipboard is cleared after the set delay, unless it changed meanwhile', async () => {
    const setClearSecs = async (secs) => {
      await app.click('settings');
      await app.shown('settings-dialog');
      await app.fill('field-clipboard_clear_secs', String(secs));
      await app.click('settings-save');
      await app.waitFor('the settings dialog to close', async () => !(await (await app.$('settings-dialog')).isExisting()));
    };
    // A copy may hand out the same token as the one before (it is refreshed only when less than
    // half its lifetime is left), so the clipboard first holds a placeholder the copy replaces.
    const copied = async () => {
      const placeholder = `not a token ${Date.now()}`;
      const holder = spawn('xclip', ['-i', '-selection', 'clipboard'], { stdio: ['pipe', 'ignore', 'ignore'] });
      holder.stdin.end(placeholder);
      try {
        await app.waitFor('the placeholder on the clipboard', async () => readClipboard() === placeholder, { timeout: 5000 });
        await app.clickInRow(PROFILE, 'copy-token');
        return await app.waitFor('a token on the clipboard', async () => {
          const c = readClipboard().trim();
          return c && c !== placeholder ? c : false;
        }, { timeout: 10000 });
      } finally {
        holder.kill();
      }
    };
    await setClearSecs(2);
    let other;
    try {
      collect(await copied());
      await app.waitFor('the clipboard to be cleared', async () => readClipboard().trim() === '', { timeout: 8000 });

      // Something else copied after the token: Pixie must leave it alone.
      collect(await copied());
      other = spawn('xclip', ['-i', '-selection', 'clipboard'], { stdio: ['pipe', 'ignore', 'ignore'] });
      other.stdin.end('something the person copied');
      await app.waitFor('the other text on the clipboard', async () => readClipboard() === 'something the person copied', { timeout: 5000 });
      await sleep(3500);
      assert.equal(readClipboard(), 'something the person copied', 'a newer clipboard content is not cleared');
    } finally {
      other?.kill();
      await setClearSecs(30);
    }
  });

  step('the claims view shows the verified ID token and an opaque access token', async () => {
    await app.clickInRow(PROFILE, 'claims');
    await app.shown('claims-view');
    const sub = await app.waitFor('claim-row sub', async () => {
      const el = await app.$('claim-row', '[data-claim="sub"]');
      return (await el.isExisting()) && (await el.getText());
    });
    assert.match(sub, /alice/);
    assert.equal(await (await app.$('verified-badge')).getAttribute('data-verified'), 'true');
    assert.equal((await (await app.$('access-token-kind')).getText()).trim(), 'opaque token');
    await app.screenshot('claims');
    await app.click('raw-toggle');
    const raw = await (await app.shown('raw-json')).getText();
    assert.match(raw, /"sub"\s*:\s*"alice"/);
    for (const t of tokens) assert.ok(!raw.includes(t), 'the raw claims hold no token');
    await app.click('close');
    await app.waitFor('the claims view to close', async () => !(await (await app.$('claims-view')).isExisting()));
  });

  step('refreshes silently before the access token expires', async () => {
    const r0 = (await idp.stats()).refresh;
    const countdown0 = await app.rowText(PROFILE, 'countdown');
    const expires0 = storedSession(SERVICE, PROFILE)?.expires_at;
    // TTL 15 s: the refresh is due about 5 s before expiry (a third of the lifetime).
    await app.waitFor('a silent refresh at the provider (/stats refresh count)', async () => (await idp.stats()).refresh > r0, { timeout: 30000 });
    await app.waitState(PROFILE, 'signed_in', { timeout: 10000 });
    const s = await app.waitFor('the keychain to hold the refreshed session', async () => {
      const cur = storedSession(SERVICE, PROFILE);
      return cur && cur.expires_at !== expires0 ? cur : false;
    }, { timeout: 10000 });
    collect(...sessionTokens(s));
    const countdown1 = await app.waitFor('a countdown after the refresh', async () => (await app.rowText(PROFILE, 'countdown'))?.trim());
    assert.ok(/\d/.test(countdown1), `countdown after refresh: ${countdown1} (before: ${countdown0})`);
    assert.ok(Date.parse(s.expires_at) > Date.parse(expires0), 'the new token expires later');
  });

  /**
   * `pixie token` as another program would run it: through the app's broker only, since its own
   * home is empty and its keychain service holds nothing (unless `own` gives it a home and a
   * keychain service). Resolves to {code, stdout, stderr}.
   */
  const cliElsewhere = tmpDir('pixie-e2e-cli-home.');
  const pixieToken = (own = { home: cliElsewhere, service: `${SERVICE}-nothing-here` }) => new Promise((resolve, reject) => {
    const child = spawn(CLI_BIN, ['token', PROFILE], {
      env: {
        ...process.env,
        PIXIE_AGENT_SOCKET: socket,
        PIXIE_HOME: own.home,
        PIXIE_KEYRING_SERVICE: own.service,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
  const cliPath = () => fs.realpathSync(CLI_BIN);

  step('pixie token gets its token from the app, and the row shows "pixie … ago"', async (t) => {
    assert.ok(fs.existsSync(CLI_BIN), `the CLI is built at ${CLI_BIN}`);
    const r = await pixieToken();
    assert.equal(r.code, 0, `pixie token failed: ${r.stderr}`);
    collect(r.stdout);
    const me = await idp.userinfo(r.stdout);
    assert.equal(me.status, 200, 'the token from the app works at the provider');
    assert.equal(me.body?.sub, 'alice');
    // Re-sent after the call, then "just now" turns into "… ago" with the shared ticker.
    const shown = await app.waitFor('"pixie, … ago" in the row', async () => {
      const text = (await app.rowText(PROFILE, 'program'))?.trim();
      return text && /^pixie, \d+ (s|min) ago$/.test(text) ? text : false;
    }, { timeout: 20000 });
    t.diagnostic(`the row: ${shown}`);
    const title = await (await (await app.row(PROFILE)).$('[data-testid="program"]')).getAttribute('title');
    assert.equal(title, cliPath(), 'the full path is the title');
    await app.screenshot('who-asked');
  });

  step('with "ask before a new program" on, Deny refuses the CLI, Always lets it in, Forget asks again', async () => {
    await app.clickInRow(PROFILE, 'ask-new-programs');
    await app.waitFor('the setting to be on', async () =>
      (await (await app.row(PROFILE)).$('[data-testid="ask-new-programs"]')).isSelected());

    const denied = pixieToken();
    const q = await app.shown('program-question', '', { timeout: 15000 });
    assert.equal((await (await app.$('program-path')).getText()).trim(), cliPath(), 'the question shows the full path');
    assert.match(await q.getText(), new RegExp(`token of ${PROFILE}`));
    await app.screenshot('program-question');
    await app.click('program-deny');
    const r1 = await denied;
    assert.notEqual(r1.code, 0, 'a denied program gets no token');
    assert.equal(r1.stdout, '', 'and prints none');
    assert.match(r1.stderr, /may not have the token/);

    const always = pixieToken();
    await app.shown('program-question', '', { timeout: 15000 });
    await app.click('program-always');
    const r2 = await always;
    assert.equal(r2.code, 0, r2.stderr);
    collect(r2.stdout);
    const settings = fs.readFileSync(path.join(home, 'desktop.json'), 'utf8');
    assert.ok(settings.includes(cliPath()), `Always is remembered in the settings file: ${settings}`);

    // Remembered: no question this time.
    const r3 = await pixieToken();
    assert.equal(r3.code, 0, r3.stderr);
    collect(r3.stdout);
    assert.equal(await (await app.$('program-question')).isExisting(), false, 'no question for an allowed program');

    // The row lists it as allowed always; Forget makes the next call ask again.
    const allowed = await app.waitFor('the allowed program in the row', async () => {
      const el = await (await app.row(PROFILE)).$('[data-testid="allowed-program"]');
      return (await el.isExisting()) ? el : false;
    });
    assert.equal(await allowed.getAttribute('title'), cliPath(), 'the allowed program is named by its path');
    await app.screenshot('allowed-programs');
    await app.clickInRow(PROFILE, 'forget-program');
    await app.waitFor('the program to be forgotten', async () =>
      !(await (await (await app.row(PROFILE)).$('[data-testid="allowed-program"]')).isExisting()));
    assert.ok(!fs.readFileSync(path.join(home, 'desktop.json'), 'utf8').includes(cliPath()), 'forgotten in the file too');
    const asked = pixieToken();
    await app.shown('program-question', '', { timeout: 15000 });
    await app.click('program-allow-once');
    const r4 = await asked;
    assert.equal(r4.code, 0, r4.stderr);
    collect(r4.stdout);

    await app.clickInRow(PROFILE, 'ask-new-programs');
    await app.waitFor('the setting to be off', async () =>
      !(await (await (await app.row(PROFILE)).$('[data-testid="ask-new-programs"]')).isSelected()));
  });

  step('a grant revoked at the provider turns the row to sign_in_required', async (t) => {
    collectFromKeychain();
    const { revoked } = await idp.ctl('/revoke-all');
    assert.ok(revoked >= 1, `the provider revoked the grant (${revoked})`);
    await app.waitState(PROFILE, 'sign_in_required', { timeout: 40000 });
    const reason = await app.waitFor('a reason in the row', async () => (await app.rowText(PROFILE, 'reason'))?.trim());
    assert.ok(reason.length > 5, `reason: ${reason}`);
    t.diagnostic(`reason: ${reason}`);
    await app.screenshot('sign-in-required');
  });

  step('signs in again, then signs out and the keychain forgets the session', async () => {
    await idp.ctl('/ttl?access=3600');
    await app.clickInRow(PROFILE, 'sign-in');
    await app.waitState(PROFILE, 'signed_in', { timeout: 30000 });
    assert.ok(collectFromKeychain(), 'a session is stored while signed in');

    await app.clickInRow(PROFILE, 'sign-out');
    // A confirmation is optional; answer it if it comes.
    const confirm = await app.$('confirm-dialog');
    if (await confirm.isExisting()) await app.click('confirm-yes');
    await app.waitState(PROFILE, 'signed_out', { timeout: 20000 });
    const left = await app.waitFor('the session to leave the keychain', async () => {
      const names = keychainNames(SERVICE);
      return names.some((n) => n === `session:${PROFILE}` || n.startsWith(`session:${PROFILE}#`)) ? false : names;
    }, { timeout: 10000 });
    assert.ok(Array.isArray(left));
    await app.screenshot('signed-out');
  });

  step('a sign-in whose browser never answers waits with Cancel and "open the link again"', async () => {
    fs.writeFileSync(scenarioFile, 'hang');
    try {
      const steps = () => fs.readFileSync(path.join(ARTIFACTS, 'browser.log'), 'utf8').split('\n').filter((l) => l.includes('"authorize"')).length;
      const before = steps();
      await app.clickInRow(PROFILE, 'sign-in');
      await app.waitState(PROFILE, 'waiting', { timeout: 15000 });
      await app.waitFor('the browser to be asked once', async () => steps() === before + 1, { timeout: 10000 });
      await app.screenshot('waiting');
      await app.clickInRow(PROFILE, 'reopen-browser');
      await app.waitFor('the link to be opened again', async () => steps() === before + 2, { timeout: 10000 });
      assert.equal(await app.state(PROFILE), 'waiting', 'opening the link again keeps the sign-in waiting');
      await app.clickInRow(PROFILE, 'cancel-sign-in');
      await app.waitState(PROFILE, 'signed_out', { timeout: 10000 });
      const errors = [];
      for (const el of await app.browser.$$('[data-testid="notice"][data-kind="error"]')) errors.push(await el.getText());
      assert.deepEqual(errors, [], 'a cancelled sign-in is not an error');
    } finally {
      fs.rmSync(scenarioFile, { force: true });
    }
  });

  step('the preset picker fills the form from a preset and its one input', async () => {
    const NAME = 'preset-idp';
    await app.click('add-profile');
    await app.shown('profile-editor');
    await app.fill('field-name', NAME);
    const select = await app.shown('preset-select');
    await select.selectByAttribute('value', 'keycloak');
    // Keycloak asks for its realm's URL only: no tenant, no domain.
    await app.shown('preset-base_url');
    assert.equal(await (await app.$('preset-tenant')).isExisting(), false, 'no tenant input for Keycloak');
    await app.fill('preset-base_url', idp.issuer);
    await app.click('preset-apply');
    await app.shown('preset-filled');
    const issuer = await app.waitFor('the issuer filled in from the preset', async () => {
      const v = await (await app.$('field-issuer')).getValue();
      return v === idp.issuer ? v : false;
    });
    assert.equal(issuer, idp.issuer);
    assert.equal(await (await app.$('field-name')).getValue(), NAME, 'the name typed before is kept');
    assert.equal(await (await app.$('field-scopes')).getValue(), 'openid profile email', "the preset's scopes");
    await app.fill('field-client_id', 'pixie-test');
    await app.screenshot('preset-filled');
    await app.click('save');
    await app.waitFor('the editor to close after Save', async () => !(await (await app.$('profile-editor')).isExisting()));
    await app.waitState(NAME, 'signed_out');
    const file = fs.readFileSync(path.join(home, 'profiles.toml'), 'utf8');
    assert.match(file, new RegExp(`name = "${NAME}"`));

    // The profile the preset made signs in.
    await app.clickInRow(NAME, 'sign-in');
    await app.waitState(NAME, 'signed_in', { timeout: 30000 });
    collect(...sessionTokens(storedSession(SERVICE, NAME)));
  });

  step('a device-code sign-in shows the code, copies it, and a person elsewhere enters it', async (t) => {
    // The profile's flow becomes "Device code" in the editor.
    await app.clickInRow(PROFILE, 'edit');
    await app.shown('profile-editor');
    await app.click('flow-device');
    await app.click('save');
    await app.waitFor('the editor to close after Save', async () => !(await (await app.$('profile-editor')).isExisting()));
    assert.match(fs.readFileSync(path.join(home, 'profiles.toml'), 'utf8'), /flow = "device"/);

    const before = await idp.stats();
    const browserSteps = () => fs.readFileSync(path.join(ARTIFACTS, 'browser.log'), 'utf8').split('\n').filter(Boolean).length;
    const opened = browserSteps();
    await app.clickInRow(PROFILE, 'sign-in');
    await app.waitState(PROFILE, 'waiting', { timeout: 15000 });
    const code = await app.waitFor('the user code in the device panel', async () => (await app.rowText(PROFILE, 'device-user-code'))?.trim());
    const uri = await (await (await app.row(PROFILE)).$('[data-testid="device-uri"]')).getAttribute('data-url');
    assert.match(code, /^[A-Z0-9-]{4,}$/, `a user code: ${code}`);
    const page = new URL(uri);
    assert.equal(page.origin, new URL(idp.issuer).origin, `the provider's page: ${uri}`);
    assert.equal(page.searchParams.get('user_code'), code, `the page carries the code: ${uri}`);
    t.diagnostic(`code ${code} at ${uri}`);
    await app.screenshot('device-code');
    assert.equal(browserSteps(), opened, 'a device sign-in opens no browser by itself');

    await app.clickInRow(PROFILE, 'copy-device-code');
    await app.waitFor('the code on the clipboard', async () => readClipboard().trim() === code, { timeout: 10000 });

    // The person at another device: the scripted browser on the page with the code.
    const person = spawn('node', [path.join(REPO, 'tests/idp/browser.mjs'), uri], {
      env: { ...process.env, PIXIE_TEST_LOGIN: 'alice', PIXIE_TEST_BROWSER_LOG: path.join(ARTIFACTS, 'browser.log') },
      stdio: 'ignore',
    });
    const done = new Promise((resolve) => person.once('exit', resolve));
    try {
      await app.waitState(PROFILE, 'signed_in', { timeout: 45000 });
      assert.equal(await done, 0, 'the scripted person finished');
    } finally {
      person.kill();
    }
    const after = await idp.stats();
    assert.ok(after.device_code > before.device_code, `the provider saw device_code polls (${before.device_code} -> ${after.device_code})`);
    assert.equal(after.authorization_code, before.authorization_code, 'no authorization code was exchanged');
    assert.equal(await (await (await app.row(PROFILE)).$('[data-testid="device-panel"]')).isExisting(), false, 'the panel is gone');
    collectFromKeychain();

    // "Remember this account" pins the subject the provider signed in.
    await app.clickInRow(PROFILE, 'remember-account');
    await app.waitFor('the row to show the pinned account', async () => (await app.rowText(PROFILE, 'account-pinned')) !== null);
    assert.match(fs.readFileSync(path.join(home, 'profiles.toml'), 'utf8'), /expect_sub = "alice"/);
    await app.screenshot('device-signed-in');
  });

  step('no token ever crossed the IPC (and none reached the log)', async (t) => {
    assert.ok(tokens.size >= 4, `tokens were collected from the clipboard and the keychain (${tokens.size})`);
    const json = await app.ipcTap();
    const tap = JSON.parse(json);
    assert.ok(Array.isArray(tap) && tap.length > 0, 'the IPC tap recorded results and events');
    const kinds = new Set(tap.map((e) => e.kind));
    assert.ok(kinds.has('result'), `the tap has results (${[...kinds].join(', ')})`);
    fs.writeFileSync(path.join(ARTIFACTS, 'ipc-tap.json'), JSON.stringify(tap, null, 1));
    // The tap holds the payloads themselves (the claims result carries sub = alice), so a token
    // in any of them would be seen.
    assert.ok(json.includes('"alice"'), 'the tap records payloads, not just names');
    t.diagnostic(`${tap.length} IPC entries (${[...new Set(tap.map((e) => `${e.kind}:${e.name}`))].join(' ')}); ${tokens.size} distinct tokens checked`);
    for (const t of tokens) {
      assert.ok(!json.includes(t), `a token (${t.slice(0, 6)}…, ${t.length} chars) appears in the IPC tap`);
    }
    const log = fs.readFileSync(app.log, 'utf8');
    for (const t of tokens) {
      assert.ok(!log.includes(t), `a token (${t.slice(0, 6)}…) appears in the app log ${app.log}`);
    }
  });

  step('killing the app leaves the CLI on the keychain, and a restarted app takes the socket over', async (t) => {
    // Killed, not closed: the socket file stays behind, as after a crash.
    const pid = app.appPid();
    assert.ok(pid, 'the app runs');
    process.kill(pid, 'SIGKILL');
    await app.waitFor('the app to be gone', async () => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch { return true; }
    }, { timeout: 10000 });
    assert.ok(fs.existsSync(socket), 'the dead app left its socket file');

    // The CLI with the app's home and keychain: the dead socket is passed over, the keychain read.
    const direct = await pixieToken({ home, service: SERVICE });
    assert.equal(direct.code, 0, `pixie token without the app: ${direct.stderr}`);
    collect(direct.stdout);
    assert.equal((await idp.userinfo(direct.stdout)).status, 200, 'the token from the keychain path works');
    // The other program, with nothing of its own, has nowhere to get a token now.
    assert.notEqual((await pixieToken()).code, 0, 'no broker answers while the app is dead');

    // A new app on the same socket path: it takes the stale socket over and answers again.
    const env = app.env;
    await app.stop();
    app = await App.start({ name: 'restarted', env });
    const served = await app.waitFor('the restarted app to answer pixie token', async () => {
      const r = await pixieToken();
      return r.code === 0 ? r : false;
    }, { timeout: 30000, interval: 500 });
    collect(served.stdout);
    assert.equal((await idp.userinfo(served.stdout)).status, 200, 'the token from the restarted app works');
    assert.match(fs.readFileSync(app.log, 'utf8'), /serving the token broker/, 'the restarted app serves the broker');
    t.diagnostic(`socket ${socket} taken over by app pid ${app.appPid()}`);
  });
});
