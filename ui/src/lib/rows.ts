// The profile list's rows, built and kept in step with the list by hand.
//
// With 1,000 profiles the list holds ~30,000 nodes. Cloning one prepared template per row and
// filling it with textContent costs a fraction of what a framework block per row (with its
// effects, anchors and bindings) costs, so the whole list still appears in one frame. A row is
// rebuilt only when its profile changed; rows are moved, never rebuilt, when the order changes.
// Text goes in through textContent only: nothing from the backend is parsed as HTML.

import type { ProfileView } from './ipc';
import { countdownText } from './format';
import { STATE_LABEL, holdsSession, isLive, type RowAction } from './states';

type Group = 'live' | 'waiting' | 'signin' | 'signin-signout';

const BUTTONS: Record<RowAction, [label: string, cls: string, title: string]> = {
  'sign-in': ['Sign in', 'primary', ''],
  'copy-token': ['Copy token', 'primary', 'Copy the access token to the clipboard (Ctrl+Shift+C)'],
  claims: ['Claims', '', 'Show the ID token and access token claims'],
  'sign-out': ['Sign out', '', 'Revoke at the provider and forget the tokens'],
  'cancel-sign-in': ['Cancel', '', 'Stop waiting for the browser'],
  'reopen-browser': ['Open the link again', '', 'Open the sign-in page in the browser again'],
  edit: ['Edit', 'quiet', ''],
  duplicate: ['Duplicate', 'quiet', 'New profile with the same settings'],
  delete: ['Delete', 'quiet danger-text', ''],
};

const GROUP_ACTIONS: Record<Group, RowAction[]> = {
  live: ['copy-token', 'claims', 'sign-out'],
  waiting: ['cancel-sign-in', 'reopen-browser'],
  signin: ['sign-in'],
  'signin-signout': ['sign-in', 'sign-out'],
};

/** The session buttons a profile's row shows (edit, duplicate and delete always follow). */
export function groupOf(p: ProfileView): Group {
  if (isLive(p)) return 'live';
  if (p.state === 'waiting') return 'waiting';
  return p.state !== 'signed_out' && holdsSession(p) ? 'signin-signout' : 'signin';
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const templates = new Map<Group, HTMLLIElement>();

function template(group: Group): HTMLLIElement {
  let li = templates.get(group);
  if (li) return li;
  li = el('li', 'row');
  li.dataset.testid = 'profile-row';
  li.tabIndex = -1;
  const info = el('div', 'info');
  const line1 = el('div', 'line1');
  line1.append(el('span', 'name'), el('span', 'badge'));
  const line2 = el('div', 'line2');
  const provider = el('span', 'meta');
  provider.title = 'Provider';
  const client = el('span', 'meta');
  client.title = 'Client ID';
  line2.append(provider, client);
  info.append(line1, line2);
  const actions = el('div', 'actions');
  const always: RowAction[] = ['edit', 'duplicate', 'delete'];
  for (const a of [...GROUP_ACTIONS[group], ...always]) {
    const [label, cls, title] = BUTTONS[a];
    const b = el('button', cls, label);
    b.type = 'button';
    b.dataset.testid = a;
    b.dataset.action = a;
    b.tabIndex = -1;
    if (title) b.title = title;
    actions.append(b);
  }
  li.append(info, actions);
  templates.set(group, li);
  return li;
}

/** One row for `p`, unselected, its countdown filled for `now`. */
export function buildRow(p: ProfileView, now: number): HTMLLIElement {
  const li = template(groupOf(p)).cloneNode(true) as HTMLLIElement;
  const info = li.firstChild as HTMLElement;
  const line1 = info.firstChild as HTMLElement;
  const line2 = line1.nextSibling as HTMLElement;
  const label = STATE_LABEL[p.state];
  li.className = `row state-${p.state}`;
  li.dataset.profile = p.name;
  li.dataset.state = p.state;
  li.setAttribute('aria-label', `${p.name}: ${label}`);
  (line1.firstChild as HTMLElement).textContent = p.name;
  (line1.lastChild as HTMLElement).textContent = label;
  if (p.id_token_verified !== null) {
    const hint = el('span', p.id_token_verified ? 'hint' : 'hint bad', p.id_token_verified ? 'verified' : 'unverified');
    hint.title = p.id_token_verified
      ? 'ID token verified: signature, issuer, audience, expiry and nonce'
      : 'ID token not verified';
    line1.append(hint);
  }
  if (isLive(p)) {
    const c = el('span', 'countdown');
    c.dataset.testid = 'countdown';
    if (p.expires_at === null) c.textContent = 'no expiry given';
    else {
      c.dataset.expires = String(p.expires_at);
      c.textContent = countdownText(p.expires_at, now);
    }
    line1.append(c);
  }
  (line2.firstChild as HTMLElement).textContent = p.provider;
  (line2.lastChild as HTMLElement).textContent = `client ${p.client_id}`;
  if (p.subject !== null) {
    const s = el('span', 'meta', `sub ${p.subject}`);
    s.title = 'Subject (sub)';
    s.dataset.testid = 'subject';
    line2.append(s);
  }
  if (p.reason !== null && (p.state === 'waiting' || p.state === 'sign_in_required' || p.state === 'error')) {
    const r = el('div', 'reason', p.reason);
    r.dataset.testid = 'reason';
    info.append(r);
  }
  return li;
}

function sameView(a: ProfileView, b: ProfileView): boolean {
  return (
    a.state === b.state &&
    a.provider === b.provider &&
    a.client_id === b.client_id &&
    a.reason === b.reason &&
    a.subject === b.subject &&
    a.expires_at === b.expires_at &&
    a.has_refresh_token === b.has_refresh_token &&
    a.id_token_verified === b.id_token_verified
  );
}

export interface RowEntry {
  p: ProfileView;
  el: HTMLLIElement;
}

/**
 * Make the children of `ul` the rows of `profiles`, in order, reusing the rows in `prev` whose
 * profile did not change. Returns the new name → row map to pass next time.
 */
export function syncRows(
  ul: HTMLElement,
  profiles: readonly ProfileView[],
  prev: Map<string, RowEntry>,
  now: number,
): Map<string, RowEntry> {
  const next = new Map<string, RowEntry>();
  if (prev.size === 0) {
    // First fill: build everything off-document and insert once.
    const frag = document.createDocumentFragment();
    for (const p of profiles) {
      if (next.has(p.name)) continue;
      const row = buildRow(p, now);
      next.set(p.name, { p, el: row });
      frag.append(row);
    }
    ul.replaceChildren(frag);
    return next;
  }
  let cursor: ChildNode | null = ul.firstChild;
  for (const p of profiles) {
    if (next.has(p.name)) continue;
    const old = prev.get(p.name);
    let entry: RowEntry;
    if (old && (old.p === p || sameView(old.p, p))) {
      entry = { p, el: old.el };
    } else {
      entry = { p, el: buildRow(p, now) };
      if (old) {
        if (old.el === cursor) cursor = cursor.nextSibling;
        old.el.remove();
      }
    }
    next.set(p.name, entry);
    if (entry.el === cursor) cursor = cursor.nextSibling;
    else ul.insertBefore(entry.el, cursor);
  }
  for (const [name, e] of prev) {
    if (next.get(name)?.el !== e.el) e.el.remove();
  }
  return next;
}

/** Refresh every countdown under `root` for `now`. */
export function tickCountdowns(root: ParentNode, now: number): void {
  for (const c of root.querySelectorAll<HTMLElement>('[data-expires]')) {
    const text = countdownText(Number(c.dataset.expires), now);
    if (c.textContent !== text) c.textContent = text;
  }
}
