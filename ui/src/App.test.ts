import { beforeEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import App from './App.svelte';
import { profiles } from './lib/profiles.svelte';
import { notices } from './lib/notices.svelte';
import { resetReady } from './lib/ready';
import { claimsPayload, ipcError, view } from './test/fixtures';
import { deferred, emitNotice, emitProfile, emitProfiles, emitQuestions, fakeBackend } from './test/backend';
import type { ProfileView } from './lib/ipc';
import { questions } from './lib/questions.svelte';

beforeEach(() => {
  profiles.replace([]);
  profiles.selected = null;
  notices.clear();
  resetReady();
});

function row(name: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="profile-row"][data-profile="${name}"]`);
  if (!el) throw new Error(`no row ${name}`);
  return el;
}

async function start(list: ProfileView[], handlers: Parameters<typeof fakeBackend>[0] = {}) {
  const calls = fakeBackend({ list_profiles: () => list, ...handlers });
  render(App);
  if (list.length > 0) await screen.findAllByTestId('profile-row');
  else await screen.findByText(/No profiles yet/);
  return calls;
}

describe('profile list', () => {
  it('shows the empty state', async () => {
    await start([]);
    expect(screen.getByText(/No profiles yet/)).toBeInTheDocument();
    const empty = screen.getByText(/No profiles yet/);
    expect(within(empty).getByRole('button', { name: 'Add profile' })).toBeInTheDocument();
  });

  it('shows each state with the actions that apply', async () => {
    const now = Date.now();
    await start([
      view('out'),
      view('wait', { state: 'waiting', reason: 'Open this link by hand: http://127.0.0.1:5000/start' }),
      view('in', {
        state: 'signed_in',
        expires_at: now + 299_500,
        subject: 'alice',
        id_token_verified: true,
        has_refresh_token: true,
      }),
      view('ref', { state: 'refreshing', expires_at: now + 10_000 }),
      view('req', { state: 'sign_in_required', reason: 'The refresh token was revoked.' }),
      view('err', { state: 'error', reason: 'Provider unreachable' }),
    ]);

    expect(row('out').dataset.state).toBe('signed_out');
    const out = within(row('out'));
    expect(out.getByTestId('sign-in')).toBeInTheDocument();
    expect(out.queryByTestId('copy-token')).toBeNull();
    expect(out.queryByTestId('countdown')).toBeNull();
    for (const id of ['edit', 'duplicate', 'delete']) expect(out.getByTestId(id)).toBeInTheDocument();

    const wait = within(row('wait'));
    expect(wait.getByTestId('reason')).toHaveTextContent('Open this link by hand');
    expect(wait.getByTestId('cancel-sign-in')).toBeInTheDocument();
    expect(wait.getByTestId('reopen-browser')).toHaveTextContent('Open the link again');
    expect(wait.queryByTestId('sign-in')).toBeNull();

    const signedIn = within(row('in'));
    expect(signedIn.getByTestId('countdown').textContent).toMatch(/^expires in [45]:\d\d$/);
    expect(signedIn.getByTestId('subject')).toHaveTextContent('alice');
    expect(signedIn.getByText('verified')).toBeInTheDocument();
    for (const id of ['copy-token', 'claims', 'sign-out']) expect(signedIn.getByTestId(id)).toBeInTheDocument();
    expect(signedIn.queryByTestId('sign-in')).toBeNull();

    expect(row('ref')).toHaveTextContent('Refreshing');
    expect(within(row('ref')).getByTestId('countdown')).toHaveTextContent(/^expires in 0:1\d$/);

    const req = within(row('req'));
    expect(req.getByTestId('reason')).toHaveTextContent('The refresh token was revoked.');
    expect(req.getByTestId('sign-in')).toBeInTheDocument();
    expect(within(row('err')).getByTestId('reason')).toHaveTextContent('Provider unreachable');
    expect(within(row('err')).getByTestId('sign-in')).toBeInTheDocument();
  });

  it('reports ui_ready once with the count and a render time', async () => {
    const calls = await start([view('a'), view('b')]);
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'ui_ready')).toHaveLength(1));
    const report = calls.find((c) => c.cmd === 'ui_ready')?.args.report as { profiles: number; render_ms: number };
    expect(report.profiles).toBe(2);
    expect(report.render_ms).toBeGreaterThanOrEqual(0);
    await emitProfiles([view('a')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.filter((c) => c.cmd === 'ui_ready')).toHaveLength(1);
  });

  it('applies profile, profiles and notice events', async () => {
    await start([view('a'), view('b')]);
    await emitProfile(view('b', { state: 'error', reason: 'boom' }));
    await waitFor(() => expect(row('b').dataset.state).toBe('error'));
    await emitProfile(view('c'));
    await waitFor(() => expect(screen.getAllByTestId('profile-row')).toHaveLength(3));
    await emitProfiles([view('z')]);
    await waitFor(() => expect(screen.getAllByTestId('profile-row')).toHaveLength(1));
    await emitNotice({ kind: 'info', message: 'Copied from the tray.', profile: 'z' });
    const n = await screen.findByText('Copied from the tray.');
    expect(n.closest('[data-testid="notice"]')).toHaveAttribute('data-kind', 'info');
  });

  it('renders 1,000 profiles: the rows in view, and the last one with End', async () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      view(`p${i}`, i % 2 ? { state: 'signed_in', expires_at: Date.now() + i * 1000 } : {}),
    );
    const calls = await start(many);
    // Only the rows in view are in the DOM; each says where it sits among all 1,000.
    const rows = screen.getAllByTestId('profile-row');
    expect(rows.length).toBeLessThan(40);
    expect(rows[0]).toHaveAttribute('aria-setsize', '1000');
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'ui_ready')).toHaveLength(1));
    expect(calls.find((c) => c.cmd === 'ui_ready')?.args.report).toMatchObject({ profiles: 1000 });
    // Every profile is reachable from the keyboard.
    await fireEvent.keyDown(row('p0'), { key: 'End' });
    await waitFor(() => expect(document.activeElement).toBe(row('p999')));
    expect(row('p999')).toHaveAttribute('aria-current', 'true');
  });
});

describe('sign-in', () => {
  it('shows the waiting state from an event, then the result', async () => {
    const pending = deferred<ProfileView>();
    const calls = await start([view('work')], {
      sign_in: () => pending.promise,
      cancel_sign_in: () => null,
      reopen_browser: () => null,
    });
    await fireEvent.click(within(row('work')).getByTestId('sign-in'));
    expect(calls.some((c) => c.cmd === 'sign_in' && c.args.name === 'work')).toBe(true);

    await emitProfile(view('work', { state: 'waiting', reason: 'Open http://127.0.0.1:4000/ by hand.' }));
    await waitFor(() => expect(row('work').dataset.state).toBe('waiting'));
    expect(within(row('work')).getByTestId('reason')).toHaveTextContent('by hand');

    await fireEvent.click(within(row('work')).getByTestId('reopen-browser'));
    expect(calls.some((c) => c.cmd === 'reopen_browser' && c.args.name === 'work')).toBe(true);

    pending.resolve(view('work', { state: 'signed_in', expires_at: Date.now() + 3_600_000, subject: 'bob' }));
    await waitFor(() => expect(row('work').dataset.state).toBe('signed_in'));
    expect(within(row('work')).getByTestId('countdown')).toHaveTextContent(/expires in (59:\d\d|1 h)/);
  });

  it('does not show an error when the sign-in is cancelled', async () => {
    const pending = deferred<ProfileView>();
    const calls = await start([view('work')], {
      sign_in: () => pending.promise,
      cancel_sign_in: () => {
        pending.reject(ipcError('cancelled', 'Sign-in cancelled'));
        return null;
      },
    });
    await fireEvent.click(within(row('work')).getByTestId('sign-in'));
    await emitProfile(view('work', { state: 'waiting' }));
    await waitFor(() => expect(row('work').dataset.state).toBe('waiting'));
    await fireEvent.click(within(row('work')).getByTestId('cancel-sign-in'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'cancel_sign_in')).toBe(true));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows a failed sign-in as an error notice', async () => {
    await start([view('work')], { sign_in: () => Promise.reject(ipcError('provider', 'invalid_client')) });
    await fireEvent.click(within(row('work')).getByTestId('sign-in'));
    const n = await screen.findByText('invalid_client');
    expect(n.closest('[data-testid="notice"]')).toHaveAttribute('data-kind', 'error');
  });
});

describe('copy token', () => {
  it('shows the notice with the clearing delay', async () => {
    const calls = await start([view('work', { state: 'signed_in', expires_at: Date.now() + 60_000 })], {
      copy_token: () => ({ expires_at: Date.now() + 60_000, clears_in_secs: 30, refreshed: false }),
    });
    await fireEvent.click(within(row('work')).getByTestId('copy-token'));
    const n = await screen.findByText('Token copied. Clipboard clears in 30 s.');
    expect(n.closest('[data-testid="notice"]')).toHaveAttribute('data-kind', 'info');
    expect(calls.find((c) => c.cmd === 'copy_token')?.args).toEqual({ name: 'work' });
  });

  it('says only "Token copied." when the clipboard is not cleared', async () => {
    await start([view('work', { state: 'signed_in' })], {
      copy_token: () => ({ expires_at: null, clears_in_secs: null, refreshed: false }),
    });
    await fireEvent.click(within(row('work')).getByTestId('copy-token'));
    expect(await screen.findByText('Token copied.')).toBeInTheDocument();
  });

  it('copies the selected profile with Ctrl+Shift+C and moves the selection with the arrows', async () => {
    const calls = await start([view('a', { state: 'signed_in' }), view('b', { state: 'signed_in' }), view('c')], {
      copy_token: () => ({ expires_at: null, clears_in_secs: 5, refreshed: false }),
    });
    expect(row('a')).toHaveAttribute('aria-current', 'true');
    await fireEvent.keyDown(window, { key: 'ArrowDown' });
    await waitFor(() => expect(row('b')).toHaveAttribute('aria-current', 'true'));
    await waitFor(() => expect(document.activeElement).toBe(row('b')));
    await fireEvent.keyDown(document.activeElement ?? window, {
      key: 'C',
      code: 'KeyC',
      ctrlKey: true,
      shiftKey: true,
    });
    await screen.findByText('Token copied. Clipboard clears in 5 s.');
    expect(calls.filter((c) => c.cmd === 'copy_token').map((c) => c.args.name)).toEqual(['b']);

    await fireEvent.keyDown(window, { key: 'ArrowDown' });
    await fireEvent.keyDown(window, { key: 'ArrowDown' });
    await waitFor(() => expect(row('c')).toHaveAttribute('aria-current', 'true'));
    await fireEvent.keyDown(window, { key: 'ArrowUp' });
    await waitFor(() => expect(row('b')).toHaveAttribute('aria-current', 'true'));
  });
});

describe('delete', () => {
  it('asks first, and deletes only on yes', async () => {
    const calls = await start([view('a'), view('b')], { delete_profile: () => [view('b')] });
    await fireEvent.click(within(row('a')).getByTestId('delete'));
    const dialog = await screen.findByTestId('confirm-dialog');
    expect(dialog).toHaveTextContent(
      'Delete profile a? This also removes its tokens and client secret from the keychain.',
    );
    await fireEvent.click(within(dialog).getByTestId('confirm-no'));
    await waitFor(() => expect(screen.queryByTestId('confirm-dialog')).toBeNull());
    expect(calls.some((c) => c.cmd === 'delete_profile')).toBe(false);

    await fireEvent.click(within(row('a')).getByTestId('delete'));
    await fireEvent.click(within(await screen.findByTestId('confirm-dialog')).getByTestId('confirm-yes'));
    await waitFor(() => expect(screen.getAllByTestId('profile-row')).toHaveLength(1));
    expect(calls.find((c) => c.cmd === 'delete_profile')?.args).toEqual({ name: 'a' });
  });

  it('closes the confirm dialog with Escape', async () => {
    await start([view('a')]);
    const del = within(row('a')).getByTestId('delete');
    del.focus();
    await fireEvent.click(del);
    const dialog = await screen.findByTestId('confirm-dialog');
    expect(document.activeElement).toBe(within(dialog).getByTestId('confirm-no'));
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByTestId('confirm-dialog')).toBeNull());
    // Focus goes back to the button that opened the dialog.
    await waitFor(() => expect(document.activeElement).toBe(del));
  });
});

describe('other actions', () => {
  it('opens the claims view', async () => {
    await start([view('work', { state: 'signed_in' })], { claims: () => claimsPayload() });
    await fireEvent.click(within(row('work')).getByTestId('claims'));
    const dlg = await screen.findByTestId('claims-view');
    expect(within(dlg).getByTestId('verified-badge')).toHaveAttribute('data-verified', 'true');
    await fireEvent.click(within(dlg).getByTestId('close'));
    await waitFor(() => expect(screen.queryByTestId('claims-view')).toBeNull());
  });

  it('signs out and shows how revocation went', async () => {
    await start([view('work', { state: 'signed_in' })], {
      sign_out: () => ({ profile: view('work'), revocation: 'Revoked at the provider.', revoked: true }),
    });
    await fireEvent.click(within(row('work')).getByTestId('sign-out'));
    expect(await screen.findByText(/Revoked at the provider\./)).toBeInTheDocument();
    await waitFor(() => expect(row('work').dataset.state).toBe('signed_out'));
  });

  it('imports and mentions what needs attention', async () => {
    await start([], {
      import_profiles: () => ({
        profiles: [view('x'), view('y')],
        imported: 2,
        browser_dropped: ['x'],
        secret_needed: ['y'],
      }),
    });
    await fireEvent.click(screen.getByTestId('import-profiles'));
    const n = await screen.findByText(/Imported 2 profiles\./);
    expect(n).toHaveTextContent('Browser command dropped for x');
    expect(n).toHaveTextContent('Client secret needed for y');
    expect(screen.getAllByTestId('profile-row')).toHaveLength(2);
  });

  it('exports, and says nothing when the dialog was cancelled', async () => {
    let answer: string | null = null;
    await start([view('a')], { export_profiles: () => answer });
    await fireEvent.click(screen.getByTestId('export-profiles'));
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryAllByTestId('notice')).toHaveLength(0);
    answer = '/home/me/profiles.json';
    await fireEvent.click(screen.getByTestId('export-profiles'));
    expect(await screen.findByText('Profiles exported to /home/me/profiles.json.')).toBeInTheDocument();
  });

  it('edits settings', async () => {
    const calls = await start([view('a')], {
      get_settings: () => ({ clipboard_clear_secs: 30 }),
      set_settings: (a) => a.settings,
    });
    await fireEvent.click(screen.getByTestId('settings'));
    const dlg = await screen.findByTestId('settings-dialog');
    const input = within(dlg).getByTestId('field-clipboard_clear_secs');
    await waitFor(() => expect(input).toHaveValue(30));
    await fireEvent.input(input, { target: { value: '0' } });
    await fireEvent.click(within(dlg).getByTestId('settings-save'));
    await waitFor(() => expect(screen.queryByTestId('settings-dialog')).toBeNull());
    expect(calls.find((c) => c.cmd === 'set_settings')?.args).toEqual({ settings: { clipboard_clear_secs: 0 } });
    expect(await screen.findByText(/not cleared/)).toBeInTheDocument();
  });

  it('warns when a saved profile sends its tokens to another host than its sign-in page', async () => {
    await start([view('work')], {
      get_profile: () => ({
        name: 'work',
        kind: 'endpoints',
        issuer: '',
        authorization_endpoint: 'https://login.example.com/authorize',
        token_endpoint: 'https://tokens.elsewhere.example/token',
        revocation_endpoint: '',
        userinfo_endpoint: '',
        device_authorization_endpoint: '',
        client_id: 'cli',
        client_auth: 'client_secret_basic',
        has_client_secret: false,
        scopes: 'openid',
        params: [],
        redirect_uri: '',
        browser: '',
        flow: 'auto',
        ca_file: '',
        expect_sub: '',
        expect_email: '',
        browser_logout: false,
      }),
      save_profile: () => ({
        profiles: [view('work')],
        secret_dropped: false,
        split_hosts: { authorization: 'login.example.com', token: 'tokens.elsewhere.example' },
      }),
    });
    await fireEvent.click(within(row('work')).getByTestId('edit'));
    const editor = await screen.findByTestId('profile-editor');
    await fireEvent.click(within(editor).getByTestId('save'));
    expect(
      await screen.findByText(/sends the code and refresh tokens to tokens\.elsewhere\.example/),
    ).toBeInTheDocument();
  });

  it('opens the editor for edit with the name read-only', async () => {
    await start([view('work')], {
      get_profile: () => ({
        name: 'work',
        kind: 'issuer',
        issuer: 'https://idp.example.com',
        authorization_endpoint: '',
        token_endpoint: '',
        revocation_endpoint: '',
        userinfo_endpoint: '',
        client_id: 'cli',
        client_auth: 'client_secret_basic',
        has_client_secret: true,
        scopes: 'openid',
        params: [],
        redirect_uri: '',
        browser: '',
      }),
    });
    await fireEvent.click(within(row('work')).getByTestId('edit'));
    const editor = await screen.findByTestId('profile-editor');
    expect(within(editor).getByTestId('field-name')).toHaveAttribute('readonly');
    expect(within(editor).getByTestId('field-name')).toHaveValue('work');
    expect(editor).toHaveTextContent(/a secret is stored/i);
  });
});

describe('device sign-in, account pinning and browser sign-out', () => {
  const device = {
    user_code: 'WDJB-MJHT',
    verification_uri: 'https://idp.example.com/device',
    verification_uri_complete: null,
    expires_at: Date.now() + 600_000,
  };

  it('shows the code from the sign-in event, copies it and opens the page through Rust', async () => {
    const signIn = deferred<ProfileView>();
    const calls = await start([view('cli')], { sign_in: () => signIn.promise });
    await fireEvent.click(within(row('cli')).getByTestId('sign-in'));
    await emitProfile(view('cli', { state: 'waiting', device }));
    const code = await within(row('cli')).findByTestId('device-user-code');
    expect(code).toHaveTextContent('WDJB-MJHT');
    await fireEvent.click(within(row('cli')).getByTestId('copy-device-code'));
    expect(await screen.findByText('Code copied.')).toBeInTheDocument();
    await fireEvent.click(within(row('cli')).getByTestId('open-device-page'));
    await waitFor(() =>
      // (The start's reads, the list and the waiting programs, aside.)
      expect(
        calls.filter((c) => !['list_profiles', 'program_questions'].includes(c.cmd)).map((c) => [c.cmd, c.args]),
      ).toEqual([
        ['sign_in', { name: 'cli' }],
        ['copy_device_code', { name: 'cli' }],
        ['reopen_browser', { name: 'cli' }],
      ]),
    );
    signIn.resolve(view('cli', { state: 'signed_in', subject: 'alice' }));
    await waitFor(() => expect(within(row('cli')).queryByTestId('device-panel')).toBeNull());
  });

  it('shows a refused wrong-account sign-in with the engine\u2019s message', async () => {
    const message =
      '`work` is for sub alice, but the sign-in was as sub bob; nothing was stored. Sign in as sub alice (the provider may need you to sign out of the other account first)';
    await start([view('work')], {
      sign_in: () => {
        throw ipcError('sign_in_incomplete', message);
      },
    });
    await fireEvent.click(within(row('work')).getByTestId('sign-in'));
    expect(await screen.findByText(/but the sign-in was as sub bob; nothing was stored/)).toBeInTheDocument();
  });

  it('remembers the signed-in account', async () => {
    const calls = await start(
      [view('work', { state: 'signed_in', subject: 'alice', expires_at: Date.now() + 60_000 })],
      {
        remember_account: () =>
          view('work', { state: 'signed_in', subject: 'alice', expires_at: Date.now() + 60_000, account_pinned: true }),
      },
    );
    await fireEvent.click(within(row('work')).getByTestId('remember-account'));
    expect(await screen.findByText('work now only accepts the account alice.')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'remember_account')?.args).toEqual({ name: 'work' });
    expect(within(row('work')).getByTestId('account-pinned')).toBeInTheDocument();
  });

  it('says that the browser sign-out was started, then its outcome from the notice event', async () => {
    await start([view('work', { state: 'signed_in' })], {
      sign_out: () => ({
        profile: view('work'),
        revocation: 'The provider revoked the refresh token.',
        revoked: true,
        browser: 'Signing out in the browser too: confirm it there if the provider asks.',
      }),
    });
    await fireEvent.click(within(row('work')).getByTestId('sign-out'));
    expect(
      await screen.findByText(
        'Signed out of work. The provider revoked the refresh token. Signing out in the browser too: confirm it there if the provider asks.',
      ),
    ).toBeInTheDocument();
    await emitNotice({ kind: 'info', message: 'Signed out of work in the browser too.', profile: 'work' });
    expect(await screen.findByText('Signed out of work in the browser too.')).toBeInTheDocument();
  });
});

describe('the token broker: who asked, and asking before a new program gets a token', () => {
  beforeEach(() => questions.replace([]));

  it('turns the per-profile setting on from the selected row', async () => {
    const calls = await start([view('work')], {
      set_ask_new_programs: (a) => view('work', { ask_new_programs: Boolean(a.ask) }),
    });
    const box = within(row('work')).getByTestId('ask-new-programs');
    expect(box).not.toBeChecked();
    expect(box.parentElement).toHaveTextContent('Ask before a new program gets this token');
    await fireEvent.click(box);
    await waitFor(() => expect(within(row('work')).getByTestId('ask-new-programs')).toBeChecked());
    expect(calls.filter((c) => c.cmd === 'set_ask_new_programs')).toEqual([
      { cmd: 'set_ask_new_programs', args: { name: 'work', ask: true } },
    ]);
  });

  it('shows a waiting program with its full path and sends the answer', async () => {
    const calls = await start([view('work')], {
      program_questions: () => [
        { id: 7, profile: 'work', path: '/usr/local/bin/kubectl', pid: 4242, expires_at: Date.now() + 60_000 },
      ],
    });
    const q = await screen.findByTestId('program-question');
    expect(q).toHaveTextContent('A program asks for the token of work');
    expect(within(q).getByTestId('program-path')).toHaveTextContent('/usr/local/bin/kubectl');
    expect(q).toHaveTextContent(/process 4242 · denied in [01]:\d\d without an answer/);
    await fireEvent.click(within(q).getByTestId('program-always'));
    await waitFor(() => expect(screen.queryByTestId('program-question')).toBeNull());
    expect(calls.filter((c) => c.cmd === 'answer_program')).toEqual([
      { cmd: 'answer_program', args: { id: 7, answer: 'always' } },
    ]);
  });

  it('follows the questions event: a new program, then none', async () => {
    await start([view('work')]);
    expect(screen.queryByTestId('program-question')).toBeNull();
    await emitQuestions([{ id: 1, profile: 'work', path: null, pid: null, expires_at: Date.now() + 60_000 }]);
    const q = await screen.findByTestId('program-question');
    expect(within(q).getByTestId('program-path')).toHaveTextContent('A program Pixie could not identify');
    await emitQuestions([]);
    await waitFor(() => expect(screen.queryByTestId('program-question')).toBeNull());
  });

  it('shows the programs that asked from a profile event', async () => {
    await start([view('work', { state: 'signed_in', expires_at: Date.now() + 60_000 })]);
    expect(within(row('work')).queryByTestId('programs')).toBeNull();
    await emitProfile(
      view('work', {
        state: 'signed_in',
        expires_at: Date.now() + 60_000,
        programs: [{ name: 'pixie', path: '/usr/bin/pixie', at: Date.now() - 120_000 }],
      }),
    );
    const program = await within(row('work')).findByTestId('program');
    expect(program).toHaveTextContent('pixie, 2 min ago');
    expect(program.title).toBe('/usr/bin/pixie');
  });
});
