import { describe, expect, it } from 'vitest';
import {
  FORM_FIELDS,
  REDIRECT_PLACEHOLDER,
  duplicateForm,
  fieldErrors,
  hasScope,
  normalise,
  secretInput,
  toggleScope,
  validate,
} from './form';
import { form } from '../test/fixtures';

describe('validate', () => {
  it('accepts a complete issuer profile', () => {
    expect(validate(form())).toEqual({});
  });

  it('requires a name with the allowed characters', () => {
    expect(validate(form({ name: '' })).name).toBe('Name is required.');
    expect(validate(form({ name: '-bad' })).name).toMatch(/letters, digits/);
    expect(validate(form({ name: 'has space' })).name).toMatch(/letters, digits/);
    expect(validate(form({ name: 'a'.repeat(65) })).name).toMatch(/up to 64/);
    expect(validate(form({ name: 'Ok.name_1-2' })).name).toBeUndefined();
  });

  it('requires an http(s) issuer for the issuer kind', () => {
    expect(validate(form({ issuer: '' })).issuer).toBe('Issuer URL is required.');
    expect(validate(form({ issuer: 'idp.example.com' })).issuer).toMatch(/http/);
    expect(validate(form({ issuer: 'ftp://idp.example.com' })).issuer).toMatch(/http/);
  });

  it('requires the endpoints for the endpoints kind', () => {
    const errors = validate(form({ kind: 'endpoints', issuer: '' }));
    expect(errors.authorization_endpoint).toBe('Authorization endpoint is required.');
    expect(errors.token_endpoint).toBe('Token endpoint is required.');
    expect(errors.revocation_endpoint).toBeUndefined();
    expect(errors.issuer).toBeUndefined();
    const bad = validate(
      form({
        kind: 'endpoints',
        authorization_endpoint: 'https://a/auth',
        token_endpoint: 'https://a/token',
        revocation_endpoint: 'nope',
      }),
    );
    expect(bad.revocation_endpoint).toMatch(/http/);
    expect(bad.authorization_endpoint).toBeUndefined();
  });

  it('requires a client id', () => {
    expect(validate(form({ client_id: '  ' })).client_id).toBe('Client ID is required.');
  });

  it('checks parameters', () => {
    expect(validate(form({ params: [{ key: '', value: 'x' }] })).params).toMatch(/name/);
    expect(
      validate(form({ params: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] })).params,
    ).toMatch(/twice/);
    expect(validate(form({ params: [{ key: '', value: '' }] })).params).toBeUndefined();
  });
});

describe('normalise', () => {
  it('trims, drops blank parameters and clears the other kind', () => {
    const f = normalise(
      form({
        name: ' work ',
        scopes: ' openid   email ',
        authorization_endpoint: 'https://x/auth',
        params: [
          { key: ' audience ', value: 'api' },
          { key: '', value: '' },
        ],
      }),
    );
    expect(f.name).toBe('work');
    expect(f.scopes).toBe('openid email');
    expect(f.authorization_endpoint).toBe('');
    expect(f.params).toEqual([{ key: 'audience', value: 'api' }]);
    const e = normalise(form({ kind: 'endpoints', authorization_endpoint: 'https://x/auth' }));
    expect(e.issuer).toBe('');
    expect(e.authorization_endpoint).toBe('https://x/auth');
  });
});

describe('secretInput', () => {
  it('maps the editor to keep / set / remove', () => {
    expect(secretInput('', false)).toEqual({ action: 'keep' });
    expect(secretInput('s3cret', false)).toEqual({ action: 'set', value: 's3cret' });
    expect(secretInput('ignored', true)).toEqual({ action: 'remove' });
  });
});

describe('scopes', () => {
  it('toggles one scope', () => {
    expect(toggleScope('openid profile', 'email')).toBe('openid profile email');
    expect(toggleScope('openid profile email', 'profile')).toBe('openid email');
    expect(toggleScope('', 'openid')).toBe('openid');
    expect(hasScope('openid profile', 'profile')).toBe(true);
    expect(hasScope('openid profile', 'prof')).toBe(false);
  });
});

describe('fieldErrors', () => {
  it('places known fields and returns the rest', () => {
    const { errors, unplaced } = fieldErrors([
      { field: 'issuer', message: 'bad issuer' },
      { field: 'whatever' as never, message: 'other' },
    ]);
    expect(errors).toEqual({ issuer: 'bad issuer' });
    expect(unplaced).toEqual(['other']);
  });

  it('places every field the Rust side names (the list is generated from it)', () => {
    const { errors, unplaced } = fieldErrors(FORM_FIELDS.map((field) => ({ field, message: field })));
    expect(Object.keys(errors)).toEqual([...FORM_FIELDS]);
    expect(unplaced).toEqual([]);
    expect(FORM_FIELDS).toContain('client_secret');
  });
});

describe('defaults', () => {
  it('shows the engine\'s default redirect URI as the placeholder', () => {
    expect(REDIRECT_PLACEHOLDER).toBe('http://127.0.0.1/callback');
  });
});

describe('duplicateForm', () => {
  it('picks a free name and forgets the stored secret', () => {
    const d = duplicateForm(form({ has_client_secret: true }), ['work', 'work-copy']);
    expect(d.name).toBe('work-copy2');
    expect(d.has_client_secret).toBe(false);
  });
});

describe('the sign-in settings in the form', () => {
  it('a duplicate keeps the flow and settings but not the pinned account', () => {
    const d = duplicateForm(
      form({ flow: 'device', expect_sub: 'alice', expect_email: 'a@example.com', browser_logout: true }),
      ['work'],
    );
    expect(d).toMatchObject({ flow: 'device', browser_logout: true, expect_sub: '', expect_email: '' });
  });

  it('trims the new text fields and checks that the CA file is absolute', () => {
    const n = normalise(form({ ca_file: ' /etc/ca.pem ', expect_sub: ' alice ', expect_email: ' a@x ' }));
    expect(n).toMatchObject({ ca_file: '/etc/ca.pem', expect_sub: 'alice', expect_email: 'a@x' });
    expect(validate(form({ ca_file: 'ca.pem' })).ca_file).toMatch(/absolute path/);
    expect(validate(form({ ca_file: '/etc/ca.pem' }))).toEqual({});
  });
});
