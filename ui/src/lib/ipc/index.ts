// The only module that talks to the Rust side: every `invoke` and `listen` lives here.
// Types come from `bindings.ts`, which is generated from `src-tauri/src/ipc.rs`.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import {
  ERROR_CODES,
  EVENTS,
  type ClaimsPayload,
  type Command,
  type CopyResult,
  type DiscoveryView,
  type ErrorCode,
  type ImportResult,
  type IpcError,
  type Notice,
  type PresetRequest,
  type PresetView,
  type ProfileForm,
  type ProfileView,
  type ProgramAnswer,
  type ProgramQuestion,
  type ReadyReport,
  type SaveRequest,
  type SaveResult,
  type Settings,
  type SignOutResult,
} from './bindings';

export type * from './bindings';
export { DEFAULT_SCOPES, EVENTS } from './bindings';

/** One entry of the IPC tap an end-to-end test may install (see README). */
export interface TapEntry {
  kind: 'result' | 'error' | 'event';
  name: string;
  payload: unknown;
}

declare global {
  interface Window {
    __PIXIE_IPC_TAP__?: unknown;
  }
}

// Read once, at module load: a test installs the array before the app starts.
const tap: TapEntry[] | null =
  typeof window !== 'undefined' && Array.isArray(window.__PIXIE_IPC_TAP__)
    ? (window.__PIXIE_IPC_TAP__ as TapEntry[])
    : null;

function record(kind: TapEntry['kind'], name: string, payload: unknown): void {
  if (tap) tap.push({ kind, name, payload });
}

// The codes the backend can send, generated with the enum they come from.
const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>(ERROR_CODES);

/** Turn whatever a command rejected with into an `IpcError`. */
export function toIpcError(e: unknown): IpcError {
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>;
    if (typeof o.code === 'string' && KNOWN_CODES.has(o.code) && typeof o.message === 'string') {
      const fields = Array.isArray(o.fields) ? (o.fields as IpcError['fields']) : [];
      return { code: o.code as ErrorCode, message: o.message, fields };
    }
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'local', message, fields: [] };
}

async function call<T>(cmd: Command, args?: Record<string, unknown>): Promise<T> {
  try {
    const result = await invoke<T>(cmd, args);
    record('result', cmd, result);
    return result;
  } catch (e) {
    record('error', cmd, e);
    throw toIpcError(e);
  }
}

export const listProfiles = (): Promise<ProfileView[]> => call('list_profiles');
export const getProfile = (name: string): Promise<ProfileForm> => call('get_profile', { name });
export const saveProfile = (request: SaveRequest): Promise<SaveResult> => call('save_profile', { request });
export const deleteProfile = (name: string): Promise<ProfileView[]> => call('delete_profile', { name });
export const presets = (): Promise<PresetView[]> => call('presets');
export const presetForm = (request: PresetRequest): Promise<ProfileForm> => call('preset_form', { request });
export const discover = (issuer: string): Promise<DiscoveryView> => call('discover', { issuer });
export const signIn = (name: string): Promise<ProfileView> => call('sign_in', { name });
export const cancelSignIn = (name: string): Promise<void> => call('cancel_sign_in', { name });
export const reopenBrowser = (name: string): Promise<void> => call('reopen_browser', { name });
export const copyDeviceCode = (name: string): Promise<void> => call('copy_device_code', { name });
export const rememberAccount = (name: string): Promise<ProfileView> => call('remember_account', { name });
export const copyToken = (name: string): Promise<CopyResult> => call('copy_token', { name });
export const claims = (name: string): Promise<ClaimsPayload> => call('claims', { name });
export const signOut = (name: string): Promise<SignOutResult> => call('sign_out', { name });
export const exportProfiles = (): Promise<string | null> => call('export_profiles');
export const importProfiles = (): Promise<ImportResult | null> => call('import_profiles');
export const getSettings = (): Promise<Settings> => call('get_settings');
export const setSettings = (settings: Settings): Promise<Settings> => call('set_settings', { settings });
export const setAskNewPrograms = (name: string, ask: boolean): Promise<ProfileView> =>
  call('set_ask_new_programs', { name, ask });
export const forgetProgram = (name: string, path: string): Promise<ProfileView> =>
  call('forget_program', { name, path });
export const programQuestions = (): Promise<ProgramQuestion[]> => call('program_questions');
export const answerProgram = (id: number, answer: ProgramAnswer): Promise<void> =>
  call('answer_program', { id, answer });
export const uiReady = (report: ReadyReport): Promise<void> => call('ui_ready', { report });

export interface Handlers {
  profile: (p: ProfileView) => void;
  profiles: (list: ProfileView[]) => void;
  notice: (n: Notice) => void;
  /** The programs waiting for an answer ("ask before a new program gets this token"). */
  questions: (open: ProgramQuestion[]) => void;
}

/** Subscribe to the backend's events. Resolves to one function that removes them all. */
export async function subscribe(handlers: Handlers): Promise<() => void> {
  const on = <T>(name: string, f: (payload: T) => void): Promise<UnlistenFn> =>
    listen<T>(name, (event) => {
      record('event', name, event.payload);
      f(event.payload);
    });
  const unlisteners = await Promise.all([
    on<ProfileView>(EVENTS.profile, handlers.profile),
    on<ProfileView[]>(EVENTS.profiles, handlers.profiles),
    on<Notice>(EVENTS.notice, handlers.notice),
    on<ProgramQuestion[]>(EVENTS.questions, handlers.questions),
  ]);
  return () => {
    for (const u of unlisteners) {
      // The unlisten call is async in Tauri 2; a failure here changes nothing for the UI.
      Promise.resolve(u() as unknown).catch(() => undefined);
    }
  };
}
