// The rows of the profile list (ProfileRow inside ProfileList), ported from the tests of the
// hand-built rows they replace: same content, buttons and escaping, and rows kept by name.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import ProfileList from './ProfileList.svelte';
import type { ProfileView } from '../ipc';
import { view } from '../../test/fixtures';

const NOW = 1_700_000_000_000;
const ids = (el: Element) => [...el.querySelectorAll<HTMLElement>('.actions button')].map((b) => b.dataset.testid);

const props = (profiles: ProfileView[], selected: string | null = null) => ({
  profiles,
  selected,
  onaction: vi.fn(),
  onforget: vi.fn(),
  onselect: vi.fn(),
  onadd: vi.fn(),
});

function rowOf(name: string): HTMLElement {
  const li = document.querySelector<HTMLElement>(`[data-testid="profile-row"][data-profile="${name}"]`);
  if (!li) throw new Error(`no row ${name}`);
  return li;
}

/** The row of `p`, rendered unselected (another profile holds the selection). */
function buildRow(p: ProfileView): HTMLElement {
  render(ProfileList, { props: props([view('other'), p], 'other') });
  return rowOf(p.name);
}

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('a profile row', () => {
  it('shows a signed-in profile with countdown, subject, hint and its buttons', () => {
    const li = buildRow(
      view('work', { state: 'signed_in', expires_at: NOW + 299_000, subject: 'alice', id_token_verified: true }),
    );
    expect(li.dataset).toMatchObject({ testid: 'profile-row', profile: 'work', state: 'signed_in' });
    expect(li.querySelector('[data-testid="countdown"]')?.textContent).toBe('expires in 4:59');
    expect(li.querySelector('[data-testid="subject"]')?.textContent).toBe('sub alice');
    expect(li.querySelector('.hint')?.textContent).toBe('verified');
    expect(li.querySelector('[data-testid="reason"]')).toBeNull();
    expect(ids(li)).toEqual(['copy-token', 'claims', 'sign-out', 'edit', 'duplicate', 'delete']);
    expect(li.tabIndex).toBe(-1);
  });

  it('shows the buttons that apply to each state', () => {
    render(ProfileList, {
      props: props(
        [
          view('a'),
          view('b', { state: 'waiting' }),
          view('c', { state: 'sign_in_required', has_refresh_token: true }),
          view('d', { state: 'error' }),
          view('e', { state: 'refreshing' }),
        ],
        null,
      ),
    });
    expect(ids(rowOf('a'))).toEqual(['sign-in', 'edit', 'duplicate', 'delete']);
    expect(ids(rowOf('b'))).toEqual(['cancel-sign-in', 'reopen-browser', 'edit', 'duplicate', 'delete']);
    expect(ids(rowOf('c'))).toEqual(['sign-in', 'sign-out', 'edit', 'duplicate', 'delete']);
    expect(ids(rowOf('d'))).toEqual(['sign-in', 'edit', 'duplicate', 'delete']);
    expect(ids(rowOf('e'))).toContain('copy-token');
  });

  it('shows the reason for waiting, sign-in required and error only', () => {
    const states = ['waiting', 'sign_in_required', 'error', 'signed_out', 'signed_in'] as const;
    render(ProfileList, { props: props(states.map((state) => view(state, { state, reason: 'why' }))) });
    const reason = (name: string) => rowOf(name).querySelector('[data-testid="reason"]')?.textContent ?? null;
    expect(reason('waiting')).toBe('why');
    expect(reason('sign_in_required')).toBe('why');
    expect(reason('error')).toBe('why');
    expect(reason('signed_out')).toBeNull();
    expect(reason('signed_in')).toBeNull();
  });

  it('never parses backend text as HTML', () => {
    const evil = '<img src=x onerror="alert(1)">';
    const li = buildRow(view('a', { state: 'error', reason: evil, provider: evil, subject: evil }));
    expect(li.querySelector('img')).toBeNull();
    expect(li.querySelector('[data-testid="reason"]')?.textContent).toBe(evil);
  });

  it('says "refresh due" and "no expiry given"', () => {
    render(ProfileList, {
      props: props([view('due', { state: 'signed_in', expires_at: NOW - 1 }), view('none', { state: 'signed_in' })]),
    });
    expect(rowOf('due').textContent).toContain('refresh due');
    expect(rowOf('none').textContent).toContain('no expiry given');
  });
});

describe('the rows of a changing list', () => {
  const names = (ul: Element) => [...ul.children].map((c) => (c as HTMLElement).dataset.profile);
  const list = () => document.querySelector('ul.list') as HTMLElement;

  it('keeps unchanged rows, updates changed ones, moves, adds and removes', async () => {
    const a = view('a');
    const b = view('b');
    const c = view('c');
    const { rerender } = render(ProfileList, { props: props([a, b, c]) });
    expect(names(list())).toEqual(['a', 'b', 'c']);
    const [ea, ec] = [rowOf('a'), rowOf('c')];

    // Equal content in a new object keeps the row; changed content shows in it.
    await rerender(props([{ ...a }, view('b', { state: 'waiting' }), c]));
    expect(rowOf('a')).toBe(ea);
    expect(list().querySelector('[data-profile="b"]')?.getAttribute('data-state')).toBe('waiting');
    expect(names(list())).toEqual(['a', 'b', 'c']);

    // Reorder, remove, add.
    await rerender(props([c, view('d'), a]));
    expect(names(list())).toEqual(['c', 'd', 'a']);
    expect(rowOf('c')).toBe(ec);
    expect(rowOf('a')).toBe(ea);
    expect(list().children).toHaveLength(3);

    // Changing the first row keeps the order.
    await rerender(props([view('c', { state: 'error' }), view('d'), a]));
    expect(names(list())).toEqual(['c', 'd', 'a']);
    expect(list().children[0]?.getAttribute('data-state')).toBe('error');

    await rerender(props([]));
    expect(document.querySelectorAll('[data-testid="profile-row"]')).toHaveLength(0);
  });

  it('ignores a repeated name', () => {
    render(ProfileList, { props: props([view('a'), view('a')]) });
    expect(list().children).toHaveLength(1);
  });

  it('rewrites each countdown for the new time', () => {
    render(ProfileList, { props: props([view('a', { state: 'signed_in', expires_at: NOW + 65_000 })]) });
    const c = document.querySelector('[data-testid="countdown"]');
    expect(c?.textContent).toBe('expires in 1:05');
    vi.advanceTimersByTime(5_000);
    flushSync();
    expect(c?.textContent).toBe('expires in 1:00');
    vi.advanceTimersByTime(60_000);
    flushSync();
    expect(c?.textContent).toBe('refresh due');
  });
});

describe('the programs that asked the token broker', () => {
  it('lists each by name and "ago", with the full path as its title, and the ticker moves the ago', () => {
    const li = buildRow(
      view('work', {
        state: 'signed_in',
        expires_at: NOW + 299_000,
        programs: [
          { name: 'kubectl', path: '/usr/local/bin/kubectl', at: NOW - 120_000 },
          { name: 'unknown program', path: null, at: NOW - 2_000 },
        ],
      }),
    );
    const shown = [...li.querySelectorAll<HTMLElement>('[data-testid="program"]')];
    expect(shown.map((s) => s.textContent)).toEqual(['kubectl, 2 min ago', 'unknown program, just now']);
    expect(shown[0]?.title).toBe('/usr/local/bin/kubectl');
    expect(shown[1]?.title).toBe('The program could not be identified');
    vi.advanceTimersByTime(60_000);
    flushSync();
    expect(li.querySelector('[data-testid="program"]')?.textContent).toBe('kubectl, 3 min ago');
  });

  it('shows nothing when no program asked', () => {
    const li = buildRow(view('work', { state: 'signed_in', expires_at: NOW + 60_000 }));
    expect(li.querySelector('[data-testid="programs"]')).toBeNull();
  });
});

describe('"Ask before a new program gets this token"', () => {
  it('is a checkbox in the selected row, off by default, that asks for the toggle', () => {
    const p = props([view('work'), view('home')], 'work');
    render(ProfileList, { props: p });
    const box = rowOf('work').querySelector<HTMLInputElement>('[data-testid="ask-new-programs"]');
    expect(box?.checked).toBe(false);
    // Another row shows it only while it is on.
    expect(rowOf('home').querySelector('[data-testid="ask-new-programs"]')).toBeNull();
    box?.click();
    expect(p.onaction).toHaveBeenCalledWith('toggle-ask-programs', 'work');
  });

  it('shows on an unselected row while it is on', () => {
    const li = buildRow(view('work', { ask_new_programs: true }));
    expect(li.querySelector<HTMLInputElement>('[data-testid="ask-new-programs"]')?.checked).toBe(true);
  });

  it('lists the programs allowed always, each with Forget', () => {
    const p = props(
      [view('work', { ask_new_programs: true, allowed_programs: ['/usr/bin/kubectl', '/opt/<b>x</b>'] })],
      'work',
    );
    render(ProfileList, { props: p });
    const allowed = [...rowOf('work').querySelectorAll<HTMLElement>('[data-testid="allowed-program"]')];
    // Named by file, the full path as the title; the path is text, never markup.
    expect(allowed.map((a) => a.title)).toEqual(['/usr/bin/kubectl', '/opt/<b>x</b>']);
    expect(allowed[0]?.textContent).toContain('kubectl');
    expect(rowOf('work').querySelector('b')).toBeNull();
    allowed[1]?.querySelector<HTMLButtonElement>('[data-testid="forget-program"]')?.click();
    expect(p.onforget).toHaveBeenCalledWith('work', '/opt/<b>x</b>');
    expect(p.onselect).not.toHaveBeenCalled();
  });

  it('lists no allowed programs while asking is off and the row is not selected', () => {
    const li = buildRow(view('work', { allowed_programs: ['/usr/bin/kubectl'] }));
    expect(li.querySelector('[data-testid="allowed-programs"]')).toBeNull();
  });
});
