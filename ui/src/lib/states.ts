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
  | 'reopen-browser'
  | 'copy-device-code'
  | 'open-device-page'
  | 'remember-account'
  // "Ask before a new program gets this token": flips the profile's setting.
  | 'toggle-ask-programs';

/** Signed in (or refreshing): the access token can be copied and its lifetime counts down. */
export function isLive(p: ProfileView): boolean {
  return p.state === 'signed_in' || p.state === 'refreshing';
}

/** Whether something is left to sign out of (tokens, or an identity). */
export function holdsSession(p: ProfileView): boolean {
  return p.has_refresh_token || p.expires_at !== null || p.subject !== null;
}
