import type { ClaimsPayload, ProfileForm } from './ipc';

export type EditorMode = 'add' | 'edit' | 'duplicate';

export type DialogState =
  | { kind: 'editor'; mode: EditorMode; form: ProfileForm; original: string | null }
  | { kind: 'claims'; payload: ClaimsPayload }
  | { kind: 'confirm-delete'; name: string }
  | { kind: 'settings' }
  | null;

/** The one dialog open over the window, if any (the rest of the window is inert meanwhile). */
class DialogStore {
  current = $state.raw<DialogState>(null);

  open(d: NonNullable<DialogState>): void {
    this.current = d;
  }

  close(): void {
    this.current = null;
  }
}

export const dialog = new DialogStore();
