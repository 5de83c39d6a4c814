// A fake Rust side for component tests: `mockIPC` with event mocking, and a log of the calls.

import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import { EVENTS, type Notice, type ProfileView, type ProgramQuestion } from '../lib/ipc';

export type Handler = (args: Record<string, unknown>) => unknown;

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

export function fakeBackend(handlers: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const h = handlers[cmd];
      return h ? h(a) : undefined;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export const emitProfile = (p: ProfileView): Promise<void> => emit(EVENTS.profile, p);
export const emitProfiles = (list: ProfileView[]): Promise<void> => emit(EVENTS.profiles, list);
export const emitNotice = (n: Notice): Promise<void> => emit(EVENTS.notice, n);
export const emitQuestions = (open: ProgramQuestion[]): Promise<void> => emit(EVENTS.questions, open);

/** A promise with its resolve/reject, for commands that finish later. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
