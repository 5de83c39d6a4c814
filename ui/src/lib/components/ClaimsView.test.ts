import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import ClaimsView from './ClaimsView.svelte';
import { claimsPayload } from '../../test/fixtures';
import type { ClaimsPayload } from '../ipc';

function show(payload: ClaimsPayload) {
  const onclose = vi.fn();
  render(ClaimsView, { props: { payload, onclose } });
  const dlg = screen.getByTestId('claims-view');
  return { dlg, q: within(dlg), onclose };
}

describe('claims view', () => {
  it('shows a verified ID token with its claims and time claims as date plus relative', () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const { q } = show(
      claimsPayload({
        id_token: {
          verified: true,
          problem: null,
          checked_at: Date.now(),
          claims: { sub: 'alice', exp, iat: exp - 3600 * 4, email: 'a@example.com' },
        },
      }),
    );
    const badge = q.getByTestId('verified-badge');
    expect(badge).toHaveTextContent('Verified');
    expect(badge).toHaveAttribute('data-verified', 'true');
    expect(badge.getAttribute('title')).toMatch(/signature.*issuer.*audience.*expiry.*nonce/);
    expect(q.queryByTestId('problem')).toBeNull();

    const rows = q.getAllByTestId('claim-row');
    expect(rows.map((r) => r.dataset.claim)).toEqual(['sub', 'exp', 'iat', 'email']);
    const expRow = rows.find((r) => r.dataset.claim === 'exp') as HTMLElement;
    expect(expRow).toHaveTextContent(/\((in 5 min|in 4 min)\)/);
    expect(expRow).toHaveTextContent(new Date(exp * 1000).getFullYear().toString());
    expect(expRow.textContent).not.toContain(String(exp));
    expect(rows.find((r) => r.dataset.claim === 'iat')).toHaveTextContent(/\(4 h ago\)/);
  });

  it('shows an unverified ID token with the problem', () => {
    const { q } = show(
      claimsPayload({
        id_token: {
          verified: false,
          problem: 'The signature does not match any key.',
          checked_at: Date.now(),
          claims: { sub: 'x' },
        },
      }),
    );
    expect(q.getByTestId('verified-badge')).toHaveTextContent('Not verified');
    expect(q.getByTestId('verified-badge')).toHaveAttribute('data-verified', 'false');
    expect(q.getByTestId('problem')).toHaveTextContent('The signature does not match any key.');
  });

  it('says "opaque token" for an opaque access token and shows type, scopes, expiry', () => {
    const { q } = show(claimsPayload());
    expect(q.getByTestId('access-token-kind')).toHaveTextContent('opaque token');
    expect(q.getByTestId('token-type')).toHaveTextContent('Bearer');
    expect(q.getByTestId('token-scopes')).toHaveTextContent('openid profile');
    expect(q.getByTestId('token-expiry')).toHaveTextContent(/in [45] min/);
  });

  it("lists a JWT access token's claims", () => {
    const { q } = show(
      claimsPayload({
        id_token: null,
        access_token: { kind: 'jwt', header: { alg: 'RS256', kid: 'k1' }, claims: { scope: 'api.read', aud: 'api' } },
      }),
    );
    expect(q.getByTestId('access-token-kind')).toHaveTextContent('JWT');
    expect(q.queryByTestId('verified-badge')).toBeNull();
    const at = q.getByTestId('access-token-claims');
    expect(
      within(at)
        .getAllByTestId('claim-row')
        .map((r) => r.dataset.claim),
    ).toEqual(['scope', 'aud']);
  });

  it('toggles the raw JSON, pretty-printed', async () => {
    const { q } = show(claimsPayload());
    expect(q.queryByTestId('raw-json')).toBeNull();
    await fireEvent.click(q.getByTestId('raw-toggle'));
    const raw = q.getByTestId('raw-json');
    const parsed = JSON.parse(raw.textContent ?? '') as { id_token: { sub: string } };
    expect(parsed.id_token.sub).toBe('alice');
    expect(raw.textContent).toContain('\n  "id_token": {');
    await fireEvent.click(q.getByTestId('raw-toggle'));
    expect(q.queryByTestId('raw-json')).toBeNull();
  });

  it('closes with Escape and the Close button', async () => {
    const { dlg, q, onclose } = show(claimsPayload());
    await fireEvent.keyDown(dlg, { key: 'Escape' });
    await fireEvent.click(q.getByTestId('close'));
    expect(onclose).toHaveBeenCalledTimes(2);
  });
});
