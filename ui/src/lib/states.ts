import type { ProfileState, ProfileView } from './ipc';

export const STATE_LABEL: Record<ProfileState, string> = {
  signed_out: 'Signed out',
  waiting: 'Waiting for the browser',
  signed_in: 'Signed in',
  refreshing: 'Refreshing',
  sign_in_required: 'Sign-in required',
  error: 'Error',
};

export type RowAction =
  | 'sign-in'
  | 'copy-token'
  | 'claims'
  | 'sign-out'
  | 'edit'
  | 'duplicate'
  | 'delete'
  | 'cancel-sign-in'
  | 'reopen-browser';

/** Signed in (or refreshing): the access token can be copied and its lifetime counts down. */
export function isLive(p: ProfileView): boolean {
  return p.state === 'signed_in' || p.state === 'refreshing';
}

/** Whether something is left to sign out of (tokens, or an identity). */
export function holdsSession(p: ProfileView): boolean {
  return p.has_refresh_token || p.expires_at !== null || p.subject !== null;
}

/** The session actions that apply to a profile in its state (edit/duplicate/delete always do). */
export function sessionActions(p: ProfileView): RowAction[] {
  switch (p.state) {
    case 'signed_out':
      return ['sign-in'];
    case 'waiting':
      return ['cancel-sign-in', 'reopen-browser'];
    case 'signed_in':
    case 'refreshing':
      return ['copy-token', 'claims', 'sign-out'];
    case 'sign_in_required':
    case 'error':
      return holdsSession(p) ? ['sign-in', 'sign-out'] : ['sign-in'];
  }
}

export const ACTION_LABEL: Record<RowAction, string> = {
  'sign-in': 'Sign in',
  'copy-token': 'Copy token',
  claims: 'Claims',
  'sign-out': 'Sign out',
  edit: 'Edit',
  duplicate: 'Duplicate',
  delete: 'Delete',
  'cancel-sign-in': 'Cancel',
  'reopen-browser': 'Open the link again',
};

export const ACTION_TITLE: Partial<Record<RowAction, string>> = {
  'copy-token': 'Copy the access token to the clipboard (Ctrl+Shift+C)',
  claims: 'Show the ID token and access token claims',
  'sign-out': 'Revoke at the provider and forget the tokens',
  'cancel-sign-in': 'Stop waiting for the browser',
  'reopen-browser': 'Open the sign-in page in the browser again',
  duplicate: 'New profile with the same settings',
};
