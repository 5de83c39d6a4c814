// The device-code panel in a waiting row, and the row's "Remember this account".
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, within } from '@testing-library/svelte';
import ProfileList from './ProfileList.svelte';
import type { DeviceCodeView, ProfileView } from '../ipc';
import { view } from '../../test/fixtures';

const NOW = 1_700_000_000_000;
const actionIds = (el: Element) =>
  [...el.querySelectorAll<HTMLElement>('.actions button')].map((b) => b.dataset.testid);

const code = (over: Partial<DeviceCodeView> = {}): DeviceCodeView => ({
  user_code: 'WDJB-MJHT',
  verification_uri: 'https://idp.example.com/device',
  verification_uri_complete: 'https://idp.example.com/device?user_code=WDJB-MJHT',
  expires_at: NOW + 600_000,
  ...over,
});

function renderRow(p: ProfileView) {
  const onaction = vi.fn();
  render(ProfileList, {
    props: { profiles: [p], selected: p.name, onaction, onforget: vi.fn(), onselect: vi.fn(), onadd: vi.fn() },
  });
  const li = document.querySelector<HTMLElement>(`[data-testid="profile-row"][data-profile="${p.name}"]`);
  if (!li) throw new Error('no row');
  return { li, q: within(li), onaction };
}

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the device-code panel', () => {
  it('shows the code, where to enter it and when it expires, with Copy, Open and the row\u2019s Cancel', async () => {
    const { li, q, onaction } = renderRow(view('cli', { state: 'waiting', device: code() }));
    expect(q.getByTestId('device-user-code')).toHaveTextContent('WDJB-MJHT');
    const uri = q.getByTestId('device-uri');
    expect(uri).toHaveTextContent('https://idp.example.com/device');
    expect(uri.dataset.url).toBe('https://idp.example.com/device?user_code=WDJB-MJHT');
    expect(q.getByTestId('device-expiry')).toHaveTextContent('expires in 10:00');
    expect(li.querySelector('.badge')).toHaveTextContent('Waiting for the code');
    // Nothing opens a browser by itself: no "open the link again" among the row's buttons.
    expect(actionIds(li)).toEqual(['cancel-sign-in', 'edit', 'duplicate', 'delete']);

    await fireEvent.click(q.getByTestId('copy-device-code'));
    await fireEvent.click(q.getByTestId('open-device-page'));
    await fireEvent.click(q.getByTestId('cancel-sign-in'));
    expect(onaction.mock.calls).toEqual([
      ['copy-device-code', 'cli'],
      ['open-device-page', 'cli'],
      ['cancel-sign-in', 'cli'],
    ]);
  });

  it('falls back to the bare page and says when the code has expired', () => {
    const { q } = renderRow(
      view('cli', { state: 'waiting', device: code({ verification_uri_complete: null, expires_at: NOW - 1 }) }),
    );
    expect(q.getByTestId('device-uri').dataset.url).toBe('https://idp.example.com/device');
    expect(q.getByTestId('device-expiry')).toHaveTextContent('the code has expired');
  });

  it('is not shown for a browser sign-in', () => {
    const { li, q } = renderRow(view('web', { state: 'waiting' }));
    expect(q.queryByTestId('device-panel')).toBeNull();
    expect(actionIds(li)).toEqual(['cancel-sign-in', 'reopen-browser', 'edit', 'duplicate', 'delete']);
  });
});

describe('remember this account', () => {
  it('is offered for a signed-in account that is not pinned yet', async () => {
    const { li, q, onaction } = renderRow(
      view('work', { state: 'signed_in', subject: 'alice', expires_at: NOW + 60_000 }),
    );
    await fireEvent.click(q.getByTestId('remember-account'));
    expect(onaction).toHaveBeenCalledWith('remember-account', 'work');
    // It is the subject's, not one of the session buttons.
    expect(actionIds(li)).not.toContain('remember-account');
  });

  it('shows a pinned account instead, and is not offered without a session', () => {
    const pinned = renderRow(
      view('work', { state: 'signed_in', subject: 'alice', expires_at: NOW + 60_000, account_pinned: true }),
    );
    expect(pinned.q.getByTestId('account-pinned')).toHaveTextContent('account pinned');
    expect(pinned.q.queryByTestId('remember-account')).toBeNull();
  });

  it('is not offered when signed out', () => {
    const { q } = renderRow(view('out', { subject: 'alice' }));
    expect(q.queryByTestId('remember-account')).toBeNull();
  });
});
