// Development only (`npm run dev`, then open /mock.html): the UI against a fake backend, for
// working on the UI without the Rust side. `?n=1000` lists that many profiles; `?empty` none.
// Never part of the build (vite builds index.html only).

import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import type { ClaimsPayload, Command, DiscoveryView, ProfileForm, ProfileView } from '../lib/ipc';
import { EVENTS } from '../lib/ipc';
import { view } from '../test/fixtures';

const params = new URLSearchParams(location.search);
const n = params.has('empty') ? 0 : Number(params.get('n') ?? '0');
const now = Date.now();

let list: ProfileView[] =
  n > 0
    ? Array.from({ length: n }, (_, i) =>
        view(
          `profile-${i}`,
          i % 3 === 0
            ? { state: 'signed_in', expires_at: now + i * 7000, subject: `user${i}`, id_token_verified: true }
            : {},
        ),
      )
    : params.has('empty')
      ? []
      : [
          view('work', {
            state: 'signed_in',
            expires_at: now + 299_000,
            subject: '6f1c2d7e-alice',
            id_token_verified: true,
            has_refresh_token: true,
            programs: [
              { name: 'kubectl', path: '/usr/local/bin/kubectl', at: now - 120_000 },
              { name: 'git', path: '/usr/bin/git', at: now - 3_600_000 },
            ],
            ask_new_programs: true,
            allowed_programs: ['/usr/local/bin/kubectl'],
          }),
          view('staging', {
            state: 'signed_in',
            expires_at: now + 3_780_000,
            subject: 'bob',
            id_token_verified: false,
            has_refresh_token: true,
          }),
          view('github', {
            provider: 'github.com',
            client_id: 'Iv1.8a61f9b3a7aba766',
            state: 'waiting',
            reason: 'The browser could not be started. Open this link by hand: http://127.0.0.1:53682/start',
          }),
          view('partner-api', {
            state: 'sign_in_required',
            reason: 'The refresh token was rejected (invalid_grant). Sign in again.',
            subject: 'carol',
            has_refresh_token: true,
          }),
          view('legacy', { state: 'error', reason: 'Could not reach https://old.example.com: connection refused' }),
          view('personal'),
          view('device', {
            state: 'waiting',
            device: {
              user_code: 'WDJB-MJHT',
              verification_uri: 'https://login.example.com/device',
              verification_uri_complete: 'https://login.example.com/device?user_code=WDJB-MJHT',
              expires_at: now + 600_000,
            },
          }),
          view('refreshing-one', {
            state: 'refreshing',
            expires_at: now + 2000,
            subject: 'dave',
            id_token_verified: true,
          }),
        ];

const form = (name: string): ProfileForm => ({
  name,
  kind: 'issuer',
  issuer: 'https://login.example.com/realms/dev',
  authorization_endpoint: '',
  token_endpoint: '',
  revocation_endpoint: '',
  userinfo_endpoint: '',
  device_authorization_endpoint: '',
  client_id: 'pixie-cli',
  client_auth: 'client_secret_basic',
  has_client_secret: true,
  scopes: 'openid offline_access profile email',
  params: [{ key: 'audience', value: 'api://default' }],
  redirect_uri: '',
  browser: '',
  flow: name === 'device' ? 'device' : 'auto',
  ca_file: '',
  expect_sub: '',
  expect_email: '',
  browser_logout: false,
});

const discovery: DiscoveryView = {
  issuer: 'https://login.example.com/realms/dev',
  authorization_endpoint: 'https://login.example.com/realms/dev/protocol/openid-connect/auth',
  token_endpoint: 'https://login.example.com/realms/dev/protocol/openid-connect/token',
  revocation_endpoint: 'https://login.example.com/realms/dev/protocol/openid-connect/revoke',
  userinfo_endpoint: 'https://login.example.com/realms/dev/protocol/openid-connect/userinfo',
  jwks_uri: 'https://login.example.com/realms/dev/protocol/openid-connect/certs',
  scopes_supported: ['openid', 'profile', 'email', 'offline_access', 'roles', 'api.read', 'api.write'],
  pkce_s256: true,
  token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post', 'none'],
};

const claims = (name: string): ClaimsPayload => {
  const s = Math.floor(Date.now() / 1000);
  return {
    profile: name,
    id_token: {
      verified: name !== 'staging',
      problem: name === 'staging' ? 'The ID token has expired (exp is 2 h ago).' : null,
      checked_at: Date.now(),
      claims: {
        iss: discovery.issuer,
        sub: 'alice',
        aud: 'pixie-cli',
        exp: s + 300,
        iat: s - 3300,
        auth_time: s - 3300,
        nonce: 'n-0S6_WzA2Mj',
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice Example',
      },
    },
    access_token: {
      kind: 'jwt',
      header: { alg: 'RS256', typ: 'at+jwt', kid: 'k1' },
      claims: {
        iss: discovery.issuer,
        sub: 'alice',
        aud: 'api://default',
        scope: 'openid profile email',
        exp: s + 299,
        iat: s - 1,
      },
    },
    token_type: 'Bearer',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    expires_at: Date.now() + 299_000,
  };
};

const set = (p: ProfileView): void => {
  list = list.map((x) => (x.name === p.name ? p : x));
  void emit(EVENTS.profile, p);
};

mockIPC(
  async (cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    const name = String(a.name ?? '');
    const p = list.find((x) => x.name === name) ?? view(name);
    // Typed by the generated command list: a case for a command that does not exist fails
    // the type check.
    switch (cmd as Command) {
      case 'list_profiles':
        return list;
      case 'get_profile':
        return form(name);
      case 'save_profile': {
        const f = (a.request as { form: ProfileForm }).form;
        if (!list.some((x) => x.name === f.name))
          list = [...list, view(f.name, { client_id: f.client_id, provider: f.issuer })];
        return { profiles: list, secret_dropped: false, split_hosts: null };
      }
      case 'delete_profile':
        list = list.filter((x) => x.name !== name);
        return list;
      case 'discover':
        await new Promise((r) => setTimeout(r, 400));
        if (!String(a.issuer).startsWith('https://'))
          throw { code: 'provider', message: 'Discovery failed: the issuer must be an https URL.', fields: [] };
        return discovery;
      case 'sign_in':
        set({ ...p, state: 'waiting', reason: null });
        await new Promise((r) => setTimeout(r, 3000));
        if (list.find((x) => x.name === name)?.state !== 'waiting')
          throw { code: 'cancelled', message: 'Sign-in cancelled.', fields: [] };
        set({
          ...p,
          state: 'signed_in',
          reason: null,
          expires_at: Date.now() + 300_000,
          subject: 'alice',
          id_token_verified: true,
        });
        return list.find((x) => x.name === name);
      case 'cancel_sign_in':
        set({ ...p, state: 'signed_out', reason: null, device: null });
        return null;
      case 'presets':
        return [
          {
            id: 'entra',
            name: 'Microsoft Entra ID',
            one_of: ['tenant'],
            optional: [],
            usage: '--tenant common|organizations|consumers|ID',
            client_type: 'Mobile and desktop application (public client)',
            register_redirect_uri: 'http://localhost',
            needs_client_secret: false,
            notes: ['No token revocation: sign-out forgets the tokens here.'],
          },
        ];
      case 'preset_form':
        return { ...form(''), issuer: 'https://login.microsoftonline.com/common/v2.0', client_id: '' };
      case 'copy_device_code':
        return null;
      case 'remember_account': {
        const pinned = { ...p, account_pinned: true };
        set(pinned);
        return pinned;
      }
      case 'copy_token':
        return { expires_at: p.expires_at, clears_in_secs: 30, refreshed: false };
      case 'claims':
        return claims(name);
      case 'sign_out': {
        const out = {
          ...p,
          state: 'signed_out' as const,
          expires_at: null,
          subject: null,
          id_token_verified: null,
          has_refresh_token: false,
        };
        set(out);
        return {
          profile: out,
          revocation: 'The refresh token was revoked at the provider.',
          revoked: true,
          browser: null,
        };
      }
      case 'export_profiles':
        return '/home/me/pixie-profiles.json';
      case 'import_profiles':
        return { profiles: list, imported: 0, browser_dropped: [], secret_needed: [] };
      case 'get_settings':
        return { clipboard_clear_secs: 30 };
      case 'set_settings':
        return a.settings;
      case 'set_ask_new_programs': {
        const changed = { ...p, ask_new_programs: Boolean(a.ask) };
        set(changed);
        return changed;
      }
      case 'forget_program': {
        const changed = { ...p, allowed_programs: p.allowed_programs.filter((x) => x !== a.path) };
        set(changed);
        return changed;
      }
      case 'program_questions':
        return params.has('ask')
          ? [{ id: 1, profile: 'work', path: '/usr/local/bin/kubectl', pid: 4242, expires_at: Date.now() + 60_000 }]
          : [];
      case 'answer_program':
        void emit(EVENTS.questions, []);
        return null;
      case 'ui_ready':
        document.documentElement.dataset.readyMs = String((a.report as { render_ms: number }).render_ms);
        // Lets a test harness outside the page read it from the server's log.
        if (params.has('beacon'))
          void fetch(`/__ready?ms=${(a.report as { render_ms: number }).render_ms}`).catch(() => undefined);
        return null;
      default:
        return null;
    }
  },
  { shouldMockEvents: true },
);

await import('../main');

// `window.__pixieBench()` re-renders the list a few times and returns the times (ms).
const { profiles } = await import('../lib/profiles.svelte');
const { tick } = await import('svelte');
(window as unknown as { __pixieBench: () => Promise<number[]> }).__pixieBench = async () => {
  const all = list;
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    profiles.replace([]);
    await tick();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    profiles.replace(all.map((p) => ({ ...p })));
    await tick();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
};
