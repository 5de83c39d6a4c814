import { describe, expect, it } from 'vitest';
import { buildRow, syncRows, tickCountdowns, type RowEntry } from './rows';
import { view } from '../test/fixtures';

const NOW = 1_700_000_000_000;
const ids = (el: Element) => [...el.querySelectorAll<HTMLElement>('.actions button')].map((b) => b.dataset.testid);

describe('buildRow', () => {
  it('shows a signed-in profile with countdown, subject, hint and its buttons', () => {
    const li = buildRow(
      view('work', { state: 'signed_in', expires_at: NOW + 299_000, subject: 'alice', id_token_verified: true }),
      NOW,
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
    expect(ids(buildRow(view('a'), NOW))).toEqual(['sign-in', 'edit', 'duplicate', 'delete']);
    expect(ids(buildRow(view('a', { state: 'waiting' }), NOW))).toEqual([
      'cancel-sign-in',
      'reopen-browser',
      'edit',
      'duplicate',
      'delete',
    ]);
    expect(ids(buildRow(view('a', { state: 'sign_in_required', has_refresh_token: true }), NOW))).toEqual([
      'sign-in',
      'sign-out',
      'edit',
      'duplicate',
      'delete',
    ]);
    expect(ids(buildRow(view('a', { state: 'error' }), NOW))).toEqual(['sign-in', 'edit', 'duplicate', 'delete']);
    expect(ids(buildRow(view('a', { state: 'refreshing' }), NOW))).toContain('copy-token');
  });

  it('shows the reason for waiting, sign-in required and error only', () => {
    const reason = (state: Parameters<typeof view>[1]) =>
      buildRow(view('a', { reason: 'why', ...state }), NOW).querySelector('[data-testid="reason"]')?.textContent ?? null;
    expect(reason({ state: 'waiting' })).toBe('why');
    expect(reason({ state: 'sign_in_required' })).toBe('why');
    expect(reason({ state: 'error' })).toBe('why');
    expect(reason({ state: 'signed_out' })).toBeNull();
    expect(reason({ state: 'signed_in' })).toBeNull();
  });

  it('never parses backend text as HTML', () => {
    const evil = '<img src=x onerror="alert(1)">';
    const li = buildRow(view('a', { state: 'error', reason: evil, provider: evil, subject: evil }), NOW);
    expect(li.querySelector('img')).toBeNull();
    expect(li.querySelector('[data-testid="reason"]')?.textContent).toBe(evil);
  });

  it('says "refresh due" and "no expiry given"', () => {
    expect(buildRow(view('a', { state: 'signed_in', expires_at: NOW - 1 }), NOW).textContent).toContain('refresh due');
    expect(buildRow(view('a', { state: 'signed_in' }), NOW).textContent).toContain('no expiry given');
  });
});

describe('syncRows', () => {
  const names = (ul: HTMLElement) => [...ul.children].map((c) => (c as HTMLElement).dataset.profile);

  it('keeps unchanged rows, rebuilds changed ones, moves, adds and removes', () => {
    const ul = document.createElement('ul');
    const a = view('a');
    const b = view('b');
    const c = view('c');
    let rows = syncRows(ul, [a, b, c], new Map<string, RowEntry>(), NOW);
    expect(names(ul)).toEqual(['a', 'b', 'c']);
    const [ea, eb, ec] = [rows.get('a')?.el, rows.get('b')?.el, rows.get('c')?.el];

    // Equal content in a new object keeps the row; changed content rebuilds it.
    rows = syncRows(ul, [{ ...a }, view('b', { state: 'waiting' }), c], rows, NOW);
    expect(rows.get('a')?.el).toBe(ea);
    expect(rows.get('b')?.el).not.toBe(eb);
    expect(ul.querySelector('[data-profile="b"]')?.getAttribute('data-state')).toBe('waiting');
    expect(names(ul)).toEqual(['a', 'b', 'c']);

    // Reorder, remove, add.
    rows = syncRows(ul, [c, view('d'), a], rows, NOW);
    expect(names(ul)).toEqual(['c', 'd', 'a']);
    expect(rows.get('c')?.el).toBe(ec);
    expect(rows.get('a')?.el).toBe(ea);
    expect(ul.children).toHaveLength(3);

    // Rebuilding the first row keeps the order.
    rows = syncRows(ul, [view('c', { state: 'error' }), view('d'), a], rows, NOW);
    expect(names(ul)).toEqual(['c', 'd', 'a']);
    expect(ul.children[0]?.getAttribute('data-state')).toBe('error');

    rows = syncRows(ul, [], rows, NOW);
    expect(ul.children).toHaveLength(0);
    expect(rows.size).toBe(0);
  });

  it('ignores a repeated name', () => {
    const ul = document.createElement('ul');
    syncRows(ul, [view('a'), view('a')], new Map(), NOW);
    expect(ul.children).toHaveLength(1);
  });
});

describe('tickCountdowns', () => {
  it('rewrites each countdown for the new time', () => {
    const ul = document.createElement('ul');
    syncRows(ul, [view('a', { state: 'signed_in', expires_at: NOW + 65_000 })], new Map(), NOW);
    const c = ul.querySelector('[data-testid="countdown"]');
    expect(c?.textContent).toBe('expires in 1:05');
    tickCountdowns(ul, NOW + 5_000);
    expect(c?.textContent).toBe('expires in 1:00');
    tickCountdowns(ul, NOW + 65_000);
    expect(c?.textContent).toBe('refresh due');
  });
});
