import type { ClaimsPayload, DiscoveryView, IpcError, ProfileForm, ProfileView } from '../lib/ipc';
import { emptyForm } from '../lib/form';

export function view(name: string, over: Partial<ProfileView> = {}): ProfileView {
  return {
    name,
    provider: 'https://idp.example.com',
    client_id: `${name}-client`,
    state: 'signed_out',
    reason: null,
    subject: null,
    expires_at: null,
    has_refresh_token: false,
    id_token_verified: null,
    scopes: [],
    device: null,
    account_pinned: false,
    programs: [],
    ask_new_programs: false,
    allowed_programs: [],
    ...over,
  };
}

export function form(over: Partial<ProfileForm> = {}): ProfileForm {
  return { ...emptyForm(), name: 'work', issuer: 'https://idp.example.com', client_id: 'cli', ...over };
}

export function discovery(over: Partial<DiscoveryView> = {}): DiscoveryView {
  return {
    issuer: 'https://idp.example.com',
    authorization_endpoint: 'https://idp.example.com/auth',
    token_endpoint: 'https://idp.example.com/token',
    revocation_endpoint: 'https://idp.example.com/revoke',
    userinfo_endpoint: null,
    jwks_uri: 'https://idp.example.com/jwks',
    scopes_supported: ['openid', 'profile', 'email', 'offline_access', 'api.read'],
    pkce_s256: true,
    token_endpoint_auth_methods: ['client_secret_basic', 'none'],
    ...over,
  };
}

export function claimsPayload(over: Partial<ClaimsPayload> = {}): ClaimsPayload {
  return {
    profile: 'work',
    id_token: {
      verified: true,
      problem: null,
      checked_at: Date.now(),
      claims: { iss: 'https://idp.example.com', sub: 'alice', aud: 'cli', exp: Math.floor(Date.now() / 1000) + 300 },
    },
    access_token: { kind: 'opaque' },
    token_type: 'Bearer',
    scopes: ['openid', 'profile'],
    expires_at: Date.now() + 300_000,
    ...over,
  };
}

export function ipcError(code: IpcError['code'], message: string, fields: IpcError['fields'] = []): IpcError {
  return { code, message, fields };
}
