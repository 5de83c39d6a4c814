// The profile editor's model: defaults, client-side checks and the request it sends.

import { DEFAULT_SCOPES, type FieldError, type FormField, type ProfileForm, type SecretInput } from './ipc';
import { DEFAULT_REDIRECT_URI, FORM_FIELDS } from './ipc/bindings';

// The engine's profile-name rule, repeated here only for feedback before a save: the engine
// checks again and its message is shown next to the field.
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// The engine's default scopes and redirect URI and the form's fields, generated into the
// bindings from Rust (one source for the CLI, the app and the webview).
export { DEFAULT_SCOPES, FORM_FIELDS };
export const REDIRECT_PLACEHOLDER = DEFAULT_REDIRECT_URI;

export type FieldErrors = Partial<Record<FormField, string>>;

export function emptyForm(): ProfileForm {
  return {
    name: '',
    kind: 'issuer',
    issuer: '',
    authorization_endpoint: '',
    token_endpoint: '',
    revocation_endpoint: '',
    userinfo_endpoint: '',
    device_authorization_endpoint: '',
    client_id: '',
    client_auth: 'client_secret_basic',
    has_client_secret: false,
    scopes: DEFAULT_SCOPES,
    params: [],
    redirect_uri: '',
    browser: '',
    flow: 'auto',
    ca_file: '',
    expect_sub: '',
    expect_email: '',
    browser_logout: false,
  };
}

/**
 * A copy of `form` for "Duplicate": a new name, no stored secret, and no pinned account (a second
 * profile at the same provider is usually for another account).
 */
export function duplicateForm(form: ProfileForm, existing: readonly string[]): ProfileForm {
  const taken = new Set(existing);
  const base = form.name.slice(0, 58);
  let name = `${base}-copy`;
  for (let i = 2; taken.has(name); i++) name = `${base}-copy${i}`;
  return {
    ...form,
    name,
    has_client_secret: false,
    expect_sub: '',
    expect_email: '',
    params: form.params.map((p) => ({ ...p })),
  };
}

export function isHttpUrl(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
}

function checkUrl(errors: FieldErrors, field: FormField, value: string, label: string, required: boolean): void {
  const v = value.trim();
  if (v === '') {
    if (required) errors[field] = `${label} is required.`;
  } else if (!isHttpUrl(v)) {
    errors[field] = `${label} must be an http:// or https:// URL.`;
  }
}

/**
 * Client-side checks for instant feedback: what is required, and what is plainly not a URL. The
 * engine owns the rules and checks again; its `fields` are shown the same way.
 */
export function validate(form: ProfileForm): FieldErrors {
  const errors: FieldErrors = {};
  const name = form.name.trim();
  if (name === '') errors.name = 'Name is required.';
  else if (!NAME_PATTERN.test(name))
    errors.name = 'Use letters, digits, ".", "_" or "-" (up to 64), starting with a letter or digit.';

  if (form.kind === 'issuer') {
    checkUrl(errors, 'issuer', form.issuer, 'Issuer URL', true);
  } else {
    checkUrl(errors, 'authorization_endpoint', form.authorization_endpoint, 'Authorization endpoint', true);
    checkUrl(errors, 'token_endpoint', form.token_endpoint, 'Token endpoint', true);
    checkUrl(errors, 'revocation_endpoint', form.revocation_endpoint, 'Revocation endpoint', false);
    checkUrl(errors, 'userinfo_endpoint', form.userinfo_endpoint, 'Userinfo endpoint', false);
    checkUrl(
      errors,
      'device_authorization_endpoint',
      form.device_authorization_endpoint,
      'Device authorization endpoint',
      false,
    );
  }

  if (form.client_id.trim() === '') errors.client_id = 'Client ID is required.';

  const keys = new Set<string>();
  for (const p of form.params) {
    const k = p.key.trim();
    if (k === '' && p.value.trim() === '') continue;
    if (k === '') {
      errors.params = 'Each parameter needs a name.';
      break;
    }
    if (keys.has(k)) {
      errors.params = `Parameter "${k}" is listed twice.`;
      break;
    }
    keys.add(k);
  }

  // The engine checks the path again (and names the field); this only catches the obvious.
  const ca = form.ca_file.trim();
  if (ca !== '' && !ca.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(ca))
    errors.ca_file = 'The CA file must be an absolute path, e.g. /etc/ssl/company-ca.pem.';

  const redirect = form.redirect_uri.trim();
  if (redirect !== '' && !isHttpUrl(redirect))
    errors.redirect_uri = `Redirect URI must be an http:// URL, e.g. ${DEFAULT_REDIRECT_URI}.`;
  return errors;
}

/** The form as sent: trimmed, blank parameter rows dropped, fields of the other kind cleared. */
export function normalise(form: ProfileForm): ProfileForm {
  const issuerKind = form.kind === 'issuer';
  return {
    ...form,
    name: form.name.trim(),
    issuer: issuerKind ? form.issuer.trim() : '',
    authorization_endpoint: issuerKind ? '' : form.authorization_endpoint.trim(),
    token_endpoint: issuerKind ? '' : form.token_endpoint.trim(),
    revocation_endpoint: issuerKind ? '' : form.revocation_endpoint.trim(),
    userinfo_endpoint: issuerKind ? '' : form.userinfo_endpoint.trim(),
    device_authorization_endpoint: issuerKind ? '' : form.device_authorization_endpoint.trim(),
    client_id: form.client_id.trim(),
    scopes: form.scopes.trim().split(/\s+/).filter(Boolean).join(' '),
    params: form.params.map((p) => ({ key: p.key.trim(), value: p.value })).filter((p) => p.key !== ''),
    redirect_uri: form.redirect_uri.trim(),
    browser: form.browser.trim(),
    ca_file: form.ca_file.trim(),
    expect_sub: form.expect_sub.trim(),
    expect_email: form.expect_email.trim(),
  };
}

export function secretInput(value: string, remove: boolean): SecretInput {
  if (remove) return { action: 'remove' };
  if (value !== '') return { action: 'set', value };
  return { action: 'keep' };
}

/** Server-side field errors, keyed by field; messages for unknown fields are returned apart. */
export function fieldErrors(fields: readonly FieldError[]): { errors: FieldErrors; unplaced: string[] } {
  const errors: FieldErrors = {};
  const unplaced: string[] = [];
  for (const f of fields) {
    if ((FORM_FIELDS as readonly string[]).includes(f.field)) {
      errors[f.field] = errors[f.field] ? `${errors[f.field]} ${f.message}` : f.message;
    } else {
      unplaced.push(f.message);
    }
  }
  return { errors, unplaced };
}

/** Toggle one scope in a space-separated list, keeping the order of the others. */
export function toggleScope(scopes: string, scope: string): string {
  const list = scopes.split(/\s+/).filter(Boolean);
  const i = list.indexOf(scope);
  if (i >= 0) list.splice(i, 1);
  else list.push(scope);
  return list.join(' ');
}

export function hasScope(scopes: string, scope: string): boolean {
  return scopes.split(/\s+/).includes(scope);
}
