// What the person can do, one function per action: the row buttons, the toolbar, the keyboard
// shortcuts and the dialogs' results. Components call these; each failure becomes a notice.

import { tick } from 'svelte';
import * as ipc from './ipc';
import type { ImportResult, ProfileView, ProgramAnswer, SaveResult, Settings } from './ipc';
import { profiles } from './profiles.svelte';
import { questions } from './questions.svelte';
import { notices } from './notices.svelte';
import { dialog } from './dialog.svelte';
import { duplicateForm, emptyForm } from './form';
import { reportReady } from './ready';
import { isLive, type RowAction } from './states';

function fail(e: unknown): void {
  notices.failure(ipc.toIpcError(e));
}

/** Run `f`, showing a failure as a notice. */
async function run(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    fail(e);
  }
}

// ---- start -------------------------------------------------------------------------------------

/**
 * Subscribe to the backend's events, load the list and report `ui_ready` once it is painted.
 * Returns the function that undoes it all (for `onMount`).
 */
export function start(): () => void {
  let stop: (() => void) | null = null;
  let disposed = false;
  void (async () => {
    try {
      stop = await ipc.subscribe({
        profile: (p) => profiles.upsert(p),
        profiles: (list) => profiles.replace(list),
        notice: (n) => notices.push(n.kind, n.message),
        questions: (open) => questions.replace(open),
      });
    } catch (e) {
      fail(e);
    }
    if (disposed) {
      stop?.();
      return;
    }
    // A program may have asked before the window was up.
    ipc.programQuestions().then(
      (open) => {
        // (A fake backend without this command answers undefined.)
        if (!disposed && Array.isArray(open)) questions.replace(open);
      },
      (e: unknown) => fail(e),
    );
    let list: ProfileView[] = [];
    try {
      list = await ipc.listProfiles();
    } catch (e) {
      fail(e);
    }
    if (disposed) return;
    const t0 = performance.now();
    profiles.replace(list);
    profiles.loaded = true;
    await tick();
    const renderMs = performance.now() - t0;
    // After paint: the next frame starts once this one has been drawn.
    requestAnimationFrame(() => {
      if (!disposed) reportReady(list.length, renderMs);
    });
  })();
  return () => {
    disposed = true;
    stop?.();
    profiles.loaded = false;
    dialog.close();
  };
}

// ---- row actions -------------------------------------------------------------------------------

// The row's state after a failed or cancelled sign-in arrives as a profile event.
export const signIn = (name: string): Promise<void> => run(async () => profiles.upsert(await ipc.signIn(name)));

export const copyToken = (name: string): Promise<void> =>
  run(async () => {
    const r = await ipc.copyToken(name);
    notices.info(
      r.clears_in_secs === null ? 'Token copied.' : `Token copied. Clipboard clears in ${r.clears_in_secs} s.`,
    );
  });

export const showClaims = (name: string): Promise<void> =>
  run(async () => dialog.open({ kind: 'claims', payload: await ipc.claims(name) }));

export const signOut = (name: string): Promise<void> =>
  run(async () => {
    const r = await ipc.signOut(name);
    profiles.upsert(r.profile);
    notices.info(`Signed out of ${name}. ${r.revocation}${r.browser ? ` ${r.browser}` : ''}`);
  });

/** "Remember this account": later sign-ins as anyone else are refused. */
export const rememberAccount = (name: string): Promise<void> =>
  run(async () => {
    const p = await ipc.rememberAccount(name);
    profiles.upsert(p);
    notices.info(
      p.subject === null
        ? `${name} now only accepts this account.`
        : `${name} now only accepts the account ${p.subject}.`,
    );
  });

/** "Ask before a new program gets this token", on or off for one profile. */
export const setAskNewPrograms = (name: string, ask: boolean): Promise<void> =>
  run(async () => profiles.upsert(await ipc.setAskNewPrograms(name, ask)));

/** Forgets a program allowed "Always" for a profile: with asking on, it is asked again. */
export const forgetProgram = (name: string, path: string): Promise<void> =>
  run(async () => profiles.upsert(await ipc.forgetProgram(name, path)));

/** The person's answer to a program waiting for a token. */
export const answerProgram = (id: number, answer: ProgramAnswer): Promise<void> =>
  run(async () => {
    questions.drop(id);
    await ipc.answerProgram(id, answer);
  });

export const copyDeviceCode = (name: string): Promise<void> =>
  run(async () => {
    await ipc.copyDeviceCode(name);
    notices.info('Code copied.');
  });

export const openEditor = (mode: 'edit' | 'duplicate', name: string): Promise<void> =>
  run(async () => {
    const form = await ipc.getProfile(name);
    dialog.open(
      mode === 'edit'
        ? { kind: 'editor', mode, form, original: name }
        : {
            kind: 'editor',
            mode,
            form: duplicateForm(
              form,
              profiles.list.map((p) => p.name),
            ),
            original: null,
          },
    );
  });

export const cancelSignIn = (name: string): Promise<void> => run(() => ipc.cancelSignIn(name));

export const reopenBrowser = (name: string): Promise<void> => run(() => ipc.reopenBrowser(name));

/** Delete after the person said yes in the confirmation. */
export function deleteProfile(name: string): Promise<void> {
  dialog.close();
  return run(async () => {
    profiles.replace(await ipc.deleteProfile(name));
    notices.info(`Profile ${name} deleted.`);
    // The row that held focus is gone: the next one takes it.
    await tick();
    if (profiles.selected !== null) focusRow(profiles.selected);
  });
}

const ROW_ACTIONS: Record<RowAction, (name: string) => unknown> = {
  'sign-in': signIn,
  'copy-token': copyToken,
  claims: showClaims,
  'sign-out': signOut,
  edit: (name) => openEditor('edit', name),
  duplicate: (name) => openEditor('duplicate', name),
  delete: (name) => dialog.open({ kind: 'confirm-delete', name }),
  'cancel-sign-in': cancelSignIn,
  'reopen-browser': reopenBrowser,
  // The device grant's verification page is the sign-in's link.
  'open-device-page': reopenBrowser,
  'copy-device-code': copyDeviceCode,
  'remember-account': rememberAccount,
  'toggle-ask-programs': (name) => setAskNewPrograms(name, !(profiles.get(name)?.ask_new_programs ?? false)),
};

/** A row button was pressed. */
export function rowAction(action: RowAction, name: string): void {
  ROW_ACTIONS[action](name);
}

export function select(name: string): void {
  profiles.selected = name;
}

// ---- toolbar -----------------------------------------------------------------------------------

export function addProfile(): void {
  dialog.open({ kind: 'editor', mode: 'add', form: emptyForm(), original: null });
}

export function openSettings(): void {
  dialog.open({ kind: 'settings' });
}

export const exportProfiles = (): Promise<void> =>
  run(async () => {
    const path = await ipc.exportProfiles();
    if (path !== null) notices.info(`Profiles exported to ${path}.`);
  });

function importMessage(r: ImportResult): string {
  const parts = [`Imported ${r.imported} profile${r.imported === 1 ? '' : 's'}.`];
  if (r.browser_dropped.length > 0)
    parts.push(`Browser command dropped for ${r.browser_dropped.join(', ')}; set it again in the editor if needed.`);
  if (r.secret_needed.length > 0)
    parts.push(`Client secret needed for ${r.secret_needed.join(', ')}; enter it in the editor.`);
  return parts.join(' ');
}

export const importProfiles = (): Promise<void> =>
  run(async () => {
    const r = await ipc.importProfiles();
    if (r !== null) {
      profiles.replace(r.profiles);
      notices.info(importMessage(r));
    }
  });

// ---- dialog results ----------------------------------------------------------------------------

export function closeDialog(): void {
  dialog.close();
}

/** The editor saved profile `name`. */
export function profileSaved(result: SaveResult, name: string): void {
  const mode = dialog.current?.kind === 'editor' ? dialog.current.mode : 'add';
  dialog.close();
  profiles.replace(result.profiles);
  profiles.selected = name;
  let msg = mode === 'edit' ? `Profile ${name} saved.` : `Profile ${name} added.`;
  if (result.secret_dropped) msg += ' The client secret was removed because the provider or client ID changed.';
  notices.info(msg);
  if (result.split_hosts) {
    const { authorization, token } = result.split_hosts;
    notices.error(
      `${name} signs in at ${authorization} but sends the code and refresh tokens to ${token}. Make sure both belong to your provider.`,
    );
  }
}

export function settingsSaved(s: Settings): void {
  dialog.close();
  notices.info(
    s.clipboard_clear_secs === 0
      ? 'Settings saved. The clipboard is not cleared after a copy.'
      : `Settings saved. The clipboard clears ${s.clipboard_clear_secs} s after a copy.`,
  );
}

// ---- keyboard ----------------------------------------------------------------------------------

/**
 * Focus the row of profile `name`, which must be the selected one: the list always renders that
 * row, and scrolls it into view itself (by measured sizes, which focus() would not wait for).
 */
export function focusRow(name: string): void {
  const sel = `[data-testid="profile-row"][data-profile="${name.replace(/["\\]/g, '\\$&')}"]`;
  document.querySelector<HTMLElement>(sel)?.focus({ preventScroll: true });
}

function isTyping(t: EventTarget | null): boolean {
  return (
    t instanceof HTMLElement &&
    (t.isContentEditable ||
      t instanceof HTMLInputElement ||
      t instanceof HTMLTextAreaElement ||
      t instanceof HTMLSelectElement)
  );
}

async function moveSelection(delta: number): Promise<void> {
  const name = profiles.move(delta);
  if (name !== null) {
    await tick();
    focusRow(name);
  }
}

/** The window's shortcuts: Ctrl+Shift+C copies, the arrows, Home and End select. */
export async function onKeydown(e: KeyboardEvent): Promise<void> {
  if (dialog.current !== null) return;
  if (e.ctrlKey && e.shiftKey && !e.altKey && (e.code === 'KeyC' || e.key.toLowerCase() === 'c')) {
    e.preventDefault();
    const name = profiles.selected;
    if (name === null) return;
    const p = profiles.get(name);
    if (p && isLive(p)) void copyToken(name);
    else notices.error(`${name} is not signed in: sign in first.`);
    return;
  }
  if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && !e.ctrlKey && !e.altKey && !e.metaKey) {
    if (isTyping(e.target)) return;
    e.preventDefault();
    await moveSelection(e.key === 'ArrowDown' ? 1 : -1);
  }
  if ((e.key === 'Home' || e.key === 'End') && e.target instanceof HTMLElement && e.target.matches('[data-profile]')) {
    e.preventDefault();
    await moveSelection(e.key === 'Home' ? -Infinity : Infinity);
  }
}
