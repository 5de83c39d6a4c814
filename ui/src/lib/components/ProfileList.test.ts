import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import ProfileList, { ROW_ESTIMATE } from './ProfileList.svelte';
import { view } from '../../test/fixtures';

afterEach(() => {
  vi.useRealTimers();
});

describe('profile list countdown', () => {
  it('counts down once a second from one shared ticker', async () => {
    vi.useFakeTimers({ now: new Date('2025-03-04T10:00:00Z') });
    const spy = vi.spyOn(globalThis, 'setInterval');
    const now = Date.now();
    const rows = Array.from({ length: 50 }, (_, i) =>
      view(`p${i}`, { state: 'signed_in', expires_at: now + 65_000 + i * 3_600_000 }),
    );
    // Near the top, so that it is among the rows in view (the list renders only those).
    rows.splice(2, 0, view('gone', { state: 'signed_in', expires_at: now + 1_500 }));
    render(ProfileList, {
      props: {
        profiles: rows,
        selected: null,
        onaction: vi.fn(),
        onforget: vi.fn(),
        onselect: vi.fn(),
        onadd: vi.fn(),
      },
    });
    const first = screen.getAllByTestId('countdown')[0] as HTMLElement;
    expect(first).toHaveTextContent('expires in 1:05');
    expect(screen.getAllByTestId('countdown')[1]).toHaveTextContent('expires in 1 h 1 min');

    vi.advanceTimersByTime(2000);
    flushSync();
    expect(first).toHaveTextContent('expires in 1:03');
    const gone = document.querySelector('[data-profile="gone"] [data-testid="countdown"]');
    expect(gone).toHaveTextContent('refresh due');
    // One interval for every row.
    expect(spy.mock.calls.filter(([, ms]) => ms === 1000)).toHaveLength(1);
  });

  it('hands row button clicks to one handler with the action and profile', async () => {
    const onaction = vi.fn();
    const onselect = vi.fn();
    render(ProfileList, {
      props: {
        profiles: [view('a'), view('b', { state: 'signed_in' })],
        selected: 'a',
        onaction,
        onforget: vi.fn(),
        onselect,
        onadd: vi.fn(),
      },
    });
    const b = document.querySelector('[data-profile="b"]') as HTMLElement;
    await fireEvent.click(within(b).getByTestId('copy-token'));
    expect(onselect).toHaveBeenCalledWith('b');
    expect(onaction).toHaveBeenCalledWith('copy-token', 'b');
    expect(within(b).getByTestId('copy-token').getAttribute('title')).toContain('Ctrl+Shift+C');
  });

  it('makes only the selected row and its buttons tab stops', () => {
    render(ProfileList, {
      props: {
        profiles: [view('a'), view('b')],
        selected: 'b',
        onaction: vi.fn(),
        onforget: vi.fn(),
        onselect: vi.fn(),
        onadd: vi.fn(),
      },
    });
    const a = document.querySelector('[data-profile="a"]') as HTMLElement;
    const b = document.querySelector('[data-profile="b"]') as HTMLElement;
    expect(a.tabIndex).toBe(-1);
    expect(b.tabIndex).toBe(0);
    expect(within(a).getByTestId('edit').tabIndex).toBe(-1);
    expect(within(b).getByTestId('edit').tabIndex).toBe(0);
  });

  it('keeps focus on a button whose row changes, and the selection on its row', async () => {
    const props = {
      profiles: [view('a'), view('b', { state: 'signed_in', expires_at: 1 })],
      selected: 'b',
      onaction: vi.fn(),
      onforget: vi.fn(),
      onselect: vi.fn(),
      onadd: vi.fn(),
    };
    const { rerender } = render(ProfileList, { props });
    const before = document.querySelector<HTMLElement>('[data-profile="b"] [data-testid="copy-token"]');
    before?.focus();
    expect(document.activeElement).toBe(before);
    await rerender({ ...props, profiles: [view('a'), view('b', { state: 'signed_in', expires_at: 2 })] });
    const after = document.querySelector<HTMLElement>('[data-profile="b"] [data-testid="copy-token"]');
    // The row is updated in place: the focused button is the same element.
    expect(after).toBe(before);
    expect(document.activeElement).toBe(after);
    const row = document.querySelector<HTMLElement>('[data-profile="b"]');
    expect(row).toHaveClass('selected');
    expect(row).toHaveAttribute('aria-current', 'true');
    expect(after?.tabIndex).toBe(0);
    expect(document.querySelectorAll('.row.selected')).toHaveLength(1);
  });

  it('moves focus to the row when the focused button goes with a state change', async () => {
    const props = {
      profiles: [view('a'), view('b', { state: 'signed_in' })],
      selected: 'b',
      onaction: vi.fn(),
      onforget: vi.fn(),
      onselect: vi.fn(),
      onadd: vi.fn(),
    };
    const { rerender } = render(ProfileList, { props });
    document.querySelector<HTMLElement>('[data-profile="b"] [data-testid="copy-token"]')?.focus();
    await rerender({ ...props, profiles: [view('a'), view('b', { state: 'waiting' })] });
    expect(document.querySelector('[data-profile="b"] [data-testid="copy-token"]')).toBeNull();
    expect(document.activeElement).toBe(document.querySelector('[data-profile="b"]'));
  });

  it('renders only a window of rows for 1,000 profiles, and says how many there are', () => {
    const many = Array.from({ length: 1000 }, (_, i) =>
      view(`p${i}`, i % 2 ? { state: 'signed_in', expires_at: Date.now() + i * 1000 } : {}),
    );
    render(ProfileList, {
      props: {
        profiles: many,
        selected: null,
        onaction: vi.fn(),
        onforget: vi.fn(),
        onselect: vi.fn(),
        onadd: vi.fn(),
      },
    });
    const rows = screen.getAllByTestId('profile-row');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(40);
    expect(rows[0]).toHaveAttribute('data-profile', 'p0');
    expect(rows[0]).toHaveAttribute('aria-posinset', '1');
    expect(rows[0]).toHaveAttribute('aria-setsize', '1000');
    // The list is as tall as all 1,000 rows, so the scroll bar covers them all.
    expect(screen.getByRole('list', { name: 'Profiles' }).style.height).toBe(`${1000 * ROW_ESTIMATE}px`);
  });

  it('keeps the selected row rendered when it is out of view', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => view(`p${i}`));
    const props = {
      profiles: many,
      selected: 'p0',
      onaction: vi.fn(),
      onforget: vi.fn(),
      onselect: vi.fn(),
      onadd: vi.fn(),
    };
    const { rerender } = render(ProfileList, { props });
    expect(document.querySelector('[data-profile="p999"]')).toBeNull();
    await rerender({ ...props, selected: 'p999' });
    const last = document.querySelector<HTMLElement>('[data-profile="p999"]');
    expect(last).toHaveAttribute('aria-current', 'true');
    expect(last?.tabIndex).toBe(0);
    expect(last?.style.transform).toBe(`translateY(${999 * ROW_ESTIMATE}px)`);
  });

  it('moves the selection', async () => {
    const props = {
      profiles: [view('a'), view('b')],
      selected: 'a',
      onaction: vi.fn(),
      onforget: vi.fn(),
      onselect: vi.fn(),
      onadd: vi.fn(),
    };
    const { rerender } = render(ProfileList, { props });
    await rerender({ ...props, selected: 'b' });
    const a = document.querySelector<HTMLElement>('[data-profile="a"]');
    const b = document.querySelector<HTMLElement>('[data-profile="b"]');
    expect(a).not.toHaveClass('selected');
    expect(a).not.toHaveAttribute('aria-current');
    expect(a?.tabIndex).toBe(-1);
    expect(b).toHaveClass('selected');
    expect(b?.tabIndex).toBe(0);
  });

  it('offers Add profile when empty', async () => {
    const onadd = vi.fn();
    render(ProfileList, {
      props: { profiles: [], selected: null, onaction: vi.fn(), onforget: vi.fn(), onselect: vi.fn(), onadd },
    });
    expect(screen.getByText(/No profiles yet/)).toBeInTheDocument();
    await fireEvent.click(screen.getByRole('button', { name: 'Add profile' }));
    expect(onadd).toHaveBeenCalled();
  });
});
