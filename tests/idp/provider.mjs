// Test OpenID Provider for Pixie's end-to-end tests and demo.
//
//   node tests/idp/provider.mjs [--port N] [--control-port N]   (0 = ephemeral, the default)
//                               [--tls-cert PEM --tls-key PEM]   serve https (issuer https://…)
//                               [--par | --require-par]          offer / demand RFC 9126 PAR
//
// Listens on 127.0.0.1 only. Once both listeners are up it prints exactly one
// JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","control":"http://127.0.0.1:CPORT"}
// The device grant (RFC 8628) is always on: /device/auth, verification page /device.
// Everything else (oidc-provider's notices, logs) goes to stderr.
//
// Control API (plain HTTP on the control port, every POST answers {"ok":true}):
//   GET  /stats            {"token_requests":n,"refresh":n,"authorization_code":n,"device_code":n,
//                           "revocations":n,"par":n,"end_sessions":n}
//   POST /reset-stats
//   POST /ttl?access=SECONDS   AccessToken TTL for tokens issued from now on
//   POST /down             stop accepting connections on the provider port (state kept)
//   POST /up               listen again on the same port
//   POST /mode?token=normal|garbage|error500|redirect|lose-answer|slow   sabotage the token endpoint
//                                               (redirect: 307 to /stolen here, counted in stats;
//                                               lose-answer: processed, then the connection dies;
//                                               slow: processed, answered after 1.5 s)
//   POST /revoke-all       revoke every grant issued so far, behind the clients' backs: its
//                          refresh and access tokens die too, so the next refresh gets
//                          invalid_grant. Answers {"ok":true,"revoked":<number of grants>}

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { parseArgs } from 'node:util';

// oidc-provider prints its NOTICEs with console.info, i.e. on stdout; stdout
// is reserved for the single JSON line, so route all console output to stderr.
console.log = console.info = console.debug = console.error;

const { default: Provider } = await import('oidc-provider');

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'control-port': { type: 'string', default: '0' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    par: { type: 'boolean', default: false },
    'require-par': { type: 'boolean', default: false },
  },
});

const HOST = '127.0.0.1';

// ---- mutable test state ---------------------------------------------------
let accessTtl = 3600;
let tokenMode = 'normal'; // normal | garbage | error500 | redirect | lose-answer | slow
const SLOW_MS = 1500;
const stats = {
  token_requests: 0, refresh: 0, authorization_code: 0, device_code: 0, stolen: 0, revocations: 0, par: 0,
  end_sessions: 0,
};

// ---- provider listener (created first so the issuer can carry the real port)
const sockets = new Set();
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const tls = args['tls-cert'] && args['tls-key']
  ? { cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']) }
  : null;
const server = tls
  ? https.createServer(tls, (req, res) => handler(req, res))
  : http.createServer((req, res) => handler(req, res));
server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

const listen = (srv, port) => new Promise((resolve, reject) => {
  srv.once('error', reject);
  srv.listen(port, HOST, () => { srv.off('error', reject); resolve(srv.address().port); });
});

const port = await listen(server, Number(args.port));
const issuer = `${tls ? 'https' : 'http'}://${HOST}:${port}`;

// ---- provider configuration ------------------------------------------------
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomUUID(),
  alg: 'RS256',
  use: 'sig',
};

const nativeClient = {
  application_type: 'native',
  // For native clients oidc-provider accepts any port on a 127.0.0.1
  // redirect_uri with this path (RFC 8252 §7.3).
  redirect_uris: ['http://127.0.0.1/callback'],
  // RP-initiated logout returns to a loopback page (any port, as for redirect_uris).
  post_logout_redirect_uris: ['http://127.0.0.1/logged-out'],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
};

const ownTokenOnly = (ctx, client, token) => token.clientId === client.clientId;

const provider = new Provider(issuer, {
  clients: [
    { ...nativeClient, client_id: 'pixie-test', token_endpoint_auth_method: 'none' },
    {
      ...nativeClient,
      client_id: 'pixie-confidential',
      client_secret: 'pixie-confidential-secret',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    { ...nativeClient, client_id: 'pixie-demo', token_endpoint_auth_method: 'none' },
    {
      ...nativeClient,
      client_id: 'pixie-post',
      client_secret: 'pixie-post-secret',
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['pixie-test-cookie-key-1', 'pixie-test-cookie-key-2'] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  // Put the scope-granted claims (name, email) into the ID token too, as most
  // real providers do, instead of only into the userinfo response.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    // Every client, public ones included, may revoke/introspect its own
    // tokens only (others' tokens: revocation is a silent no-op, introspection
    // says inactive). Setting the policy also silences oidc-provider's
    // "you SHOULD change it" notices about the default policies.
    revocation: { enabled: true, allowedPolicy: ownTokenOnly },
    introspection: { enabled: true, allowedPolicy: ownTokenOnly },
    userinfo: { enabled: true },
    deviceFlow: { enabled: true },
    pushedAuthorizationRequests: {
      enabled: args.par || args['require-par'],
      requirePushedAuthorizationRequests: args['require-par'],
    },
  },
  ttl: {
    AccessToken: () => accessTtl,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    // Set explicitly (defaults are fine) so oidc-provider doesn't warn about them.
    AuthorizationCode: 60,
    Grant: 14 * 24 * 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    DeviceCode: 600,
    PushedAuthorizationRequest: 60,
  },
  findAccount: (ctx, sub) => ({
    accountId: sub,
    claims: () => ({
      sub,
      name: sub.charAt(0).toUpperCase() + sub.slice(1),
      email: `${sub}@example.test`,
      email_verified: true,
    }),
  }),
});

provider.on('grant.success', (ctx) => {
  const gt = ctx.oidc.params?.grant_type;
  if (gt === 'refresh_token') stats.refresh += 1;
  else if (gt === 'authorization_code') stats.authorization_code += 1;
  else if (gt === 'urn:ietf:params:oauth:grant-type:device_code') stats.device_code += 1;
});
// Every grant ever saved, for POST /revoke-all.
const grantIds = new Set();
provider.on('grant.saved', (grant) => grantIds.add(grant.jti));
provider.on('end_session.success', () => { stats.end_sessions += 1; });
provider.on('server_error', (ctx, err) => console.error('server_error:', err));

const oidc = provider.callback();
const tokenPath = new URL(provider.urlFor('token')).pathname; // '/token'
const revocationPath = new URL(provider.urlFor('revocation')).pathname;
const parPath = '/request';

handler = (req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'POST' && path === revocationPath) stats.revocations += 1;
  if (req.method === 'POST' && path === parPath) stats.par += 1;
  if (req.method === 'POST' && path === tokenPath) {
    stats.token_requests += 1;
    if (tokenMode === 'redirect') {
      // A 307 keeps method and body: a client that followed it would hand the refresh token
      // (and client credentials) to another server. /stolen on the control port counts that.
      req.resume();
      req.on('end', () => {
        res.writeHead(307, { location: `http://${HOST}:${controlPort}/stolen` });
        res.end();
      });
      return;
    }
    if (tokenMode === 'lose-answer' || tokenMode === 'slow') {
      // The provider really processes the grant (a refresh token rotates), then the answer is
      // lost on the way (the connection dies), or arrives only after SLOW_MS.
      const end = res.end.bind(res);
      if (tokenMode === 'lose-answer') {
        res.write = () => true;
        res.end = () => { req.socket.destroy(); return res; };
      } else {
        res.end = (...a) => { setTimeout(() => end(...a), SLOW_MS); return res; };
      }
      oidc(req, res);
      return;
    }
    if (tokenMode !== 'normal') {
      // Drain the body first so the client sees a clean response.
      req.resume();
      req.on('end', () => {
        const status = tokenMode === 'garbage' ? 200 : 500;
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(status === 200
          ? '<!DOCTYPE html><html><body>Welcome to the captive portal!</body></html>'
          : '<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>');
      });
      return;
    }
  }
  oidc(req, res);
};

// ---- control listener --------------------------------------------------------
const control = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${HOST}`);
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const key = `${req.method} ${url.pathname}`;
  try {
    switch (key) {
      case 'GET /stats':
        return reply(200, stats);
      case 'POST /stolen':
      case 'GET /stolen':
        stats.stolen += 1;
        return reply(200, { access_token: 'stolen', token_type: 'Bearer' });
      case 'POST /reset-stats':
        for (const k of Object.keys(stats)) stats[k] = 0;
        break;
      case 'POST /ttl': {
        const s = Number(url.searchParams.get('access'));
        if (!Number.isInteger(s) || s <= 0) return reply(400, { error: 'access must be a positive integer' });
        accessTtl = s;
        break;
      }
      case 'POST /down':
        if (server.listening) {
          const closed = new Promise((r) => server.close(r));
          // close() alone keeps keep-alive connections open; kill them so
          // clients get "connection refused" / reset right away.
          for (const s of sockets) s.destroy();
          await closed;
        }
        break;
      case 'POST /up':
        if (!server.listening) await listen(server, port);
        break;
      case 'POST /revoke-all': {
        const ids = [...grantIds];
        grantIds.clear();
        await Promise.all(ids.flatMap((id) => [
          provider.AccessToken.revokeByGrantId(id),
          provider.RefreshToken.revokeByGrantId(id),
          provider.AuthorizationCode.revokeByGrantId(id),
          provider.Grant.adapter.destroy(id),
        ]));
        console.error(`control: ${key} (${ids.length} grants)`);
        return reply(200, { ok: true, revoked: ids.length });
      }
      case 'POST /mode': {
        const m = url.searchParams.get('token');
        if (!['normal', 'garbage', 'error500', 'redirect', 'lose-answer', 'slow'].includes(m)) return reply(400, { error: 'token must be normal|garbage|error500|redirect|lose-answer|slow' });
        tokenMode = m;
        break;
      }
      default:
        return reply(404, { error: `no such control endpoint: ${key}` });
    }
    console.error(`control: ${key}${url.search}`);
    return reply(200, { ok: true });
  } catch (err) {
    console.error('control error:', err);
    return reply(500, { error: String(err) });
  }
});

const controlPort = await listen(control, Number(args['control-port']));

process.stdout.write(`${JSON.stringify({ issuer, control: `http://${HOST}:${controlPort}` })}\n`);

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
