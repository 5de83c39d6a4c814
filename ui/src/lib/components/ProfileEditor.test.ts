import { describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import ProfileEditor from './ProfileEditor.svelte';
import { emptyForm } from '../form';
import { discovery, form, ipcError, view } from '../../test/fixtures';
import { fakeBackend } from '../../test/backend';
import type { PresetView, ProfileForm, SaveRequest } from '../ipc';

function open(props: { mode?: 'add' | 'edit' | 'duplicate'; initial?: ProfileForm; original?: string | null } = {}) {
  const onclose = vi.fn();
  const onsaved = vi.fn();
  render(ProfileEditor, {
    props: {
      mode: props.mode ?? 'add',
      initial: props.initial ?? emptyForm(),
      original: props.original ?? null,
      onclose,
      onsaved,
    },
  });
  const editor = screen.getByTestId('profile-editor');
  return { onclose, onsaved, editor, q: within(editor) };
}

async function type(el: HTMLElement, value: string): Promise<void> {
  await fireEvent.input(el, { target: { value } });
}

describe('profile editor', () => {
  it('starts a new profile with the default scopes and the issuer kind', () => {
    fakeBackend({});
    const { q } = open();
    expect(q.getByTestId('field-scopes')).toHaveValue('openid offline_access profile email');
    expect(q.getByTestId('kind-issuer')).toBeChecked();
    expect(q.getByTestId('field-redirect_uri')).toHaveAttribute('placeholder', 'http://127.0.0.1/callback');
    expect(q.getByTestId('field-client_secret')).toHaveAttribute('type', 'password');
    expect(q.getByTestId('field-name')).not.toHaveAttribute('readonly');
  });

  it('shows client-side errors next to their fields and sends nothing', async () => {
    const calls = fakeBackend({});
    const { q } = open();
    await type(q.getByTestId('field-name'), 'bad name!');
    await fireEvent.click(q.getByTestId('save'));
    expect(q.getByTestId('error-name')).toHaveTextContent(/letters, digits/);
    expect(q.getByTestId('error-issuer')).toHaveTextContent('Issuer URL is required.');
    expect(q.getByTestId('error-client_id')).toHaveTextContent('Client ID is required.');
    expect(q.getByTestId('field-name')).toHaveAttribute('aria-invalid', 'true');
    expect(calls.some((c) => c.cmd === 'save_profile')).toBe(false);

    // Fixing a field clears its message.
    await type(q.getByTestId('field-client_id'), 'cli');
    expect(q.queryByTestId('error-client_id')).toBeNull();
  });

  it('checks the endpoints for the endpoints kind', async () => {
    fakeBackend({});
    const { q } = open();
    await fireEvent.click(q.getByTestId('kind-endpoints'));
    expect(q.queryByTestId('field-issuer')).toBeNull();
    await type(q.getByTestId('field-name'), 'plain');
    await type(q.getByTestId('field-client_id'), 'cli');
    await type(q.getByTestId('field-authorization_endpoint'), 'not a url');
    await fireEvent.click(q.getByTestId('save'));
    expect(q.getByTestId('error-authorization_endpoint')).toHaveTextContent(/http/);
    expect(q.getByTestId('error-token_endpoint')).toHaveTextContent('Token endpoint is required.');
    expect(q.queryByTestId('error-revocation_endpoint')).toBeNull();
  });

  it('places server field errors next to the fields, and other messages at the top', async () => {
    let reply = ipcError('invalid', 'The profile has errors', [
      { field: 'issuer', message: 'The issuer must use https.' },
      { field: 'redirect_uri', message: 'Use a loopback address.' },
    ]);
    fakeBackend({
      save_profile: () => {
        throw reply;
      },
    });
    const { q, onsaved } = open({ initial: form({ issuer: 'http://idp.example.com' }) });
    await fireEvent.click(q.getByTestId('save'));
    expect(await q.findByTestId('error-issuer')).toHaveTextContent('The issuer must use https.');
    expect(q.getByTestId('error-redirect_uri')).toHaveTextContent('Use a loopback address.');
    expect(q.queryByTestId('error-form')).toBeNull();
    expect(onsaved).not.toHaveBeenCalled();

    reply = ipcError('profile_file', 'A profile named work already exists.');
    await fireEvent.click(q.getByTestId('save'));
    expect(await q.findByTestId('error-form')).toHaveTextContent('A profile named work already exists.');
  });

  it('saves a new profile with the secret as SecretInput', async () => {
    const calls = fakeBackend({
      save_profile: () => ({ profiles: [view('work')], secret_dropped: false, split_hosts: null }),
    });
    const { q, onsaved } = open();
    await type(q.getByTestId('field-name'), 'work');
    await type(q.getByTestId('field-issuer'), 'https://idp.example.com');
    await type(q.getByTestId('field-client_id'), 'cli');
    await type(q.getByTestId('field-client_secret'), 's3cret');
    await fireEvent.click(q.getByTestId('param-add'));
    await type(q.getByTestId('param-key'), 'audience');
    await type(q.getByTestId('param-value'), 'api');
    await fireEvent.click(q.getByTestId('save'));
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    const req = calls.find((c) => c.cmd === 'save_profile')?.args.request as SaveRequest;
    expect(req.original).toBeNull();
    expect(req.secret).toEqual({ action: 'set', value: 's3cret' });
    expect(req.form.name).toBe('work');
    expect(req.form.params).toEqual([{ key: 'audience', value: 'api' }]);
    expect(req.form.scopes).toBe('openid offline_access profile email');
  });

  it('submits on Enter in a field', async () => {
    const calls = fakeBackend({ save_profile: () => ({ profiles: [], secret_dropped: false, split_hosts: null }) });
    const { q } = open({ initial: form() });
    await fireEvent.keyDown(q.getByTestId('field-client_id'), { key: 'Enter' });
    await waitFor(() => expect(calls.some((c) => c.cmd === 'save_profile')).toBe(true));
  });

  it('on edit keeps the name read-only, keeps or removes the stored secret', async () => {
    const calls = fakeBackend({ save_profile: () => ({ profiles: [], secret_dropped: false, split_hosts: null }) });
    const { q } = open({ mode: 'edit', initial: form({ has_client_secret: true }), original: 'work' });
    expect(q.getByTestId('field-name')).toHaveAttribute('readonly');
    expect(q.getByTestId('field-client_secret')).toHaveAttribute(
      'placeholder',
      'a secret is stored — leave empty to keep',
    );
    await fireEvent.click(q.getByTestId('save'));
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'save_profile')).toHaveLength(1));
    let req = calls.find((c) => c.cmd === 'save_profile')?.args.request as SaveRequest;
    expect(req.original).toBe('work');
    expect(req.secret).toEqual({ action: 'keep' });

    await fireEvent.click(q.getByTestId('remove-secret'));
    expect(q.getByTestId('field-client_secret')).toBeDisabled();
    await fireEvent.click(q.getByTestId('save'));
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'save_profile')).toHaveLength(2));
    req = calls.filter((c) => c.cmd === 'save_profile')[1]?.args.request as SaveRequest;
    expect(req.secret).toEqual({ action: 'remove' });
  });

  it('discovers endpoints and toggles scopes with the chips', async () => {
    const calls = fakeBackend({ discover: () => discovery() });
    const { q } = open();
    await type(q.getByTestId('field-issuer'), 'https://idp.example.com');
    await fireEvent.click(q.getByTestId('discover'));
    const found = await q.findByTestId('discover-result');
    expect(calls.find((c) => c.cmd === 'discover')?.args).toEqual({ issuer: 'https://idp.example.com' });
    expect(found).toHaveTextContent('https://idp.example.com/auth');
    expect(found).toHaveTextContent('https://idp.example.com/token');
    expect(found).not.toHaveTextContent(/PKCE/);

    const chips = within(found).getAllByTestId('scope-chip');
    expect(chips.map((c) => c.textContent)).toEqual(['openid', 'profile', 'email', 'offline_access', 'api.read']);
    const apiRead = chips[4] as HTMLElement;
    expect(apiRead).toHaveAttribute('aria-pressed', 'false');
    await fireEvent.click(apiRead);
    expect(q.getByTestId('field-scopes')).toHaveValue('openid offline_access profile email api.read');
    expect(apiRead).toHaveAttribute('aria-pressed', 'true');
    await fireEvent.click(chips[2] as HTMLElement);
    expect(q.getByTestId('field-scopes')).toHaveValue('openid offline_access profile api.read');

    // The discovered endpoints carry over to the explicit-endpoints kind.
    await fireEvent.click(q.getByTestId('kind-endpoints'));
    expect(q.getByTestId('field-authorization_endpoint')).toHaveValue('https://idp.example.com/auth');
    expect(q.getByTestId('field-token_endpoint')).toHaveValue('https://idp.example.com/token');
    expect(q.getByTestId('field-revocation_endpoint')).toHaveValue('https://idp.example.com/revoke');
  });

  it('warns when the provider does not support PKCE S256', async () => {
    fakeBackend({ discover: () => discovery({ pkce_s256: false }) });
    const { q } = open();
    await type(q.getByTestId('field-issuer'), 'https://idp.example.com');
    await fireEvent.click(q.getByTestId('discover'));
    expect(await q.findByTestId('discover-result')).toHaveTextContent(/PKCE/);
  });

  it('shows a discovery failure next to the issuer', async () => {
    fakeBackend({
      discover: () => {
        throw ipcError('provider', 'Could not reach https://nowhere.example: connection refused');
      },
    });
    const { q } = open();
    await type(q.getByTestId('field-issuer'), 'https://nowhere.example');
    await fireEvent.click(q.getByTestId('discover'));
    expect(await q.findByTestId('error-issuer')).toHaveTextContent('connection refused');
    expect(q.queryByTestId('discover-result')).toBeNull();
  });

  it('refuses to discover a non-URL issuer, with the message at the issuer field', async () => {
    const calls = fakeBackend({});
    const { q } = open();
    await type(q.getByTestId('field-issuer'), 'not a url');
    await fireEvent.click(q.getByTestId('discover'));
    expect(q.getByTestId('error-issuer')).toHaveTextContent(/URL/);
    expect(q.getByTestId('field-issuer')).toHaveAttribute('aria-describedby', 'err-issuer');
    expect(calls.some((c) => c.cmd === 'discover')).toBe(false);
  });

  it('asks for an issuer before discovering', async () => {
    const calls = fakeBackend({});
    const { q } = open();
    await fireEvent.click(q.getByTestId('discover'));
    expect(q.getByTestId('error-issuer')).toHaveTextContent(/issuer URL first/);
    expect(calls.some((c) => c.cmd === 'discover')).toBe(false);
  });

  it('closes with Escape and Cancel', async () => {
    fakeBackend({});
    const { q, onclose, editor } = open();
    await fireEvent.keyDown(q.getByTestId('field-name'), { key: 'Escape' });
    expect(onclose).toHaveBeenCalledTimes(1);
    await fireEvent.click(within(editor).getByTestId('cancel'));
    expect(onclose).toHaveBeenCalledTimes(2);
  });
});

describe('profile editor: sign-in settings', () => {
  const saved = () => ({ profiles: [], secret_dropped: false, split_hosts: null });

  it('shows the stored settings and sends the changed ones', async () => {
    const calls = fakeBackend({ save_profile: saved });
    const { q } = open({
      mode: 'edit',
      original: 'work',
      initial: form({
        flow: 'device',
        ca_file: '/etc/ssl/company.pem',
        expect_email: 'a@example.com',
        browser_logout: true,
      }),
    });
    expect(q.getByTestId('flow-device')).toBeChecked();
    expect(q.getByTestId('flow-browser')).not.toBeChecked();
    expect(q.queryByTestId('flow-paste')).toBeNull();
    expect(q.getByTestId('field-expect_email')).toHaveValue('a@example.com');
    expect(q.getByTestId('field-browser_logout')).toBeChecked();
    // The CA file lives under Advanced, which opens when it holds one.
    expect(q.getByTestId('field-ca_file')).toHaveValue('/etc/ssl/company.pem');
    expect(q.getByTestId('field-ca_file').closest('details')).toHaveAttribute('open');

    await fireEvent.click(q.getByTestId('flow-browser'));
    await type(q.getByTestId('field-expect_sub'), ' 6f1c-alice ');
    await fireEvent.click(q.getByTestId('field-browser_logout'));
    await fireEvent.click(q.getByTestId('save'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'save_profile')).toBe(true));
    const req = calls.find((c) => c.cmd === 'save_profile')?.args.request as SaveRequest;
    // "Browser" on a profile that had no explicit flow is `auto` (the CLI still chooses).
    expect(req.form).toMatchObject({
      flow: 'auto',
      ca_file: '/etc/ssl/company.pem',
      expect_sub: '6f1c-alice',
      expect_email: 'a@example.com',
      browser_logout: false,
    });
  });

  it('starts a new profile on the browser with nothing pinned', () => {
    fakeBackend({});
    const { q } = open();
    expect(q.getByTestId('flow-browser')).toBeChecked();
    expect(q.getByTestId('field-expect_sub')).toHaveValue('');
    expect(q.getByTestId('field-browser_logout')).not.toBeChecked();
    expect(q.getByTestId('field-ca_file').closest('details')).not.toHaveAttribute('open');
  });

  it('keeps an explicit browser or paste-back flow set with the command line', async () => {
    const calls = fakeBackend({ save_profile: saved });
    const { q } = open({ mode: 'edit', original: 'work', initial: form({ flow: 'paste' }) });
    expect(q.getByTestId('flow-paste')).toBeChecked();
    await fireEvent.click(q.getByTestId('flow-device'));
    await fireEvent.click(q.getByTestId('flow-browser'));
    await fireEvent.click(q.getByTestId('save'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'save_profile')).toBe(true));
    expect((calls.find((c) => c.cmd === 'save_profile')?.args.request as SaveRequest).form.flow).toBe('auto');
    cleanup();

    const again = fakeBackend({ save_profile: saved });
    const e = open({ mode: 'edit', original: 'work', initial: form({ flow: 'browser' }) });
    expect(e.q.getByTestId('flow-browser')).toBeChecked();
    await fireEvent.click(e.q.getByTestId('save'));
    await waitFor(() => expect(again.some((c) => c.cmd === 'save_profile')).toBe(true));
    expect((again.find((c) => c.cmd === 'save_profile')?.args.request as SaveRequest).form.flow).toBe('browser');
  });

  it('refuses a relative CA file before sending, and opens Advanced to show it', async () => {
    const calls = fakeBackend({});
    const { q } = open({ initial: form() });
    await type(q.getByTestId('field-ca_file'), 'certs/ca.pem');
    await fireEvent.click(q.getByTestId('save'));
    expect(q.getByTestId('error-ca_file')).toHaveTextContent(/absolute path/);
    expect(q.getByTestId('field-ca_file').closest('details')).toHaveAttribute('open');
    expect(calls.some((c) => c.cmd === 'save_profile')).toBe(false);
  });

  it("places the engine's errors on the new fields", async () => {
    fakeBackend({
      save_profile: () => {
        throw ipcError('invalid', 'some fields need attention', [
          { field: 'expect_sub', message: 'pinning an account needs an ID token: add the `openid` scope' },
          { field: 'ca_file', message: 'cannot read the CA file /etc/nope.pem' },
        ]);
      },
    });
    const { q } = open({ initial: form({ expect_sub: 'alice', ca_file: '/etc/nope.pem' }) });
    await fireEvent.click(q.getByTestId('save'));
    expect(await q.findByTestId('error-expect_sub')).toHaveTextContent(/openid/);
    expect(q.getByTestId('field-expect_sub')).toHaveAttribute('aria-invalid', 'true');
    expect(q.getByTestId('error-ca_file')).toHaveTextContent(/CA file/);
    expect(q.queryByTestId('error-form')).toBeNull();
  });
});

describe('profile editor: the preset picker', () => {
  const entra: PresetView = {
    id: 'entra',
    name: 'Microsoft Entra ID',
    one_of: ['tenant'],
    optional: [],
    usage: '--tenant common|organizations|consumers|ID',
    client_type: 'public client (mobile and desktop)',
    register_redirect_uri: 'http://localhost',
    needs_client_secret: false,
    notes: ['No RFC 7009 revocation: sign-out forgets the tokens here and says so.'],
  };
  const okta: PresetView = { ...entra, id: 'okta', name: 'Okta', one_of: ['domain', 'base_url'], notes: [] };

  it('asks only for the preset inputs and fills the form, keeping the name and client ID', async () => {
    const calls = fakeBackend({
      presets: () => [entra, okta],
      preset_form: () =>
        form({
          name: '',
          client_id: '',
          issuer: 'https://login.microsoftonline.com/organizations/v2.0',
          scopes: 'openid offline_access profile email',
          redirect_uri: 'http://localhost',
        }),
    });
    const { q } = open();
    await type(q.getByTestId('field-name'), 'work');
    const select = await q.findByTestId('preset-select');
    await fireEvent.change(select, { target: { value: 'entra' } });
    expect(q.getByTestId('preset-tenant')).toBeInTheDocument();
    expect(q.queryByTestId('preset-domain')).toBeNull();
    expect(q.getByTestId('preset-register')).toHaveTextContent('http://localhost');
    await type(q.getByTestId('preset-tenant'), 'organizations');
    await fireEvent.click(q.getByTestId('preset-apply'));
    await waitFor(() =>
      expect(q.getByTestId('field-issuer')).toHaveValue('https://login.microsoftonline.com/organizations/v2.0'),
    );
    expect(calls.find((c) => c.cmd === 'preset_form')?.args).toEqual({
      request: { id: 'entra', tenant: 'organizations', domain: '', base_url: '' },
    });
    expect(q.getByTestId('field-name')).toHaveValue('work');
    expect(q.getByTestId('field-redirect_uri')).toHaveValue('http://localhost');
    expect(q.getByTestId('preset-filled')).toHaveTextContent('Microsoft Entra ID');

    // A preset that takes one of two inputs offers both.
    await fireEvent.change(select, { target: { value: 'okta' } });
    expect(q.getByTestId('preset-domain')).toBeInTheDocument();
    expect(q.getByTestId('preset-base_url')).toBeInTheDocument();
  });

  it("shows the engine's refusal of an input under the picker", async () => {
    fakeBackend({
      presets: () => [entra],
      preset_form: () => {
        throw ipcError('invalid', 'invalid tenant `x y`: use common, organizations, consumers, a tenant ID');
      },
    });
    const { q } = open();
    await fireEvent.change(await q.findByTestId('preset-select'), { target: { value: 'entra' } });
    await type(q.getByTestId('preset-tenant'), 'x y');
    await fireEvent.keyDown(q.getByTestId('preset-tenant'), { key: 'Enter' });
    expect(await q.findByTestId('preset-error')).toHaveTextContent('invalid tenant');
  });

  it('is only offered for a new profile', async () => {
    fakeBackend({ presets: () => [entra] });
    const { q } = open({ mode: 'edit', original: 'work', initial: form() });
    await Promise.resolve();
    expect(q.queryByTestId('preset-picker')).toBeNull();
  });
});
