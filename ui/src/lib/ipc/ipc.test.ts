import { afterEach, describe, expect, it, vi } from 'vitest';
import { emit } from '@tauri-apps/api/event';
import { fakeBackend } from '../../test/backend';
import { view } from '../../test/fixtures';
import type { TapEntry } from './index';

afterEach(() => {
  delete window.__PIXIE_IPC_TAP__;
  vi.resetModules();
});

describe('ipc', () => {
  it('normalises rejections to IpcError', async () => {
    const ipc = await import('./index');
    fakeBackend({
      get_profile: () => {
        throw { code: 'invalid', message: 'bad', fields: [{ field: 'name', message: 'no' }] };
      },
      copy_token: () => {
        throw 'plain string failure';
      },
      claims: () => {
        throw { code: 'not-a-code', message: 'weird' };
      },
    });
    await expect(ipc.getProfile('x')).rejects.toEqual({
      code: 'invalid',
      message: 'bad',
      fields: [{ field: 'name', message: 'no' }],
    });
    await expect(ipc.copyToken('x')).rejects.toEqual({ code: 'local', message: 'plain string failure', fields: [] });
    const e = await ipc.claims('x').catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'local', fields: [] });
  });

  it('passes arguments under their single-word names', async () => {
    const ipc = await import('./index');
    const calls = fakeBackend({});
    await ipc.signIn('a');
    await ipc.discover('https://i');
    await ipc.setSettings({ clipboard_clear_secs: 10 });
    await ipc.uiReady({ profiles: 3, render_ms: 1.5 });
    expect(calls).toEqual([
      { cmd: 'sign_in', args: { name: 'a' } },
      { cmd: 'discover', args: { issuer: 'https://i' } },
      { cmd: 'set_settings', args: { settings: { clipboard_clear_secs: 10 } } },
      { cmd: 'ui_ready', args: { report: { profiles: 3, render_ms: 1.5 } } },
    ]);
  });

  it('records results, errors and events in the tap when one is installed', async () => {
    const tap: TapEntry[] = [];
    window.__PIXIE_IPC_TAP__ = tap;
    const ipc = await import('./index');
    fakeBackend({
      list_profiles: () => [view('a')],
      copy_token: () => {
        throw { code: 'sign_in_required', message: 'sign in', fields: [] };
      },
    });
    const seen = vi.fn();
    const stop = await ipc.subscribe({ profile: seen, profiles: seen, notice: seen, questions: seen });
    await ipc.listProfiles();
    await ipc.copyToken('a').catch(() => undefined);
    await emit('pixie://profile', view('a', { state: 'waiting' }));
    stop();

    expect(tap).toEqual([
      { kind: 'result', name: 'list_profiles', payload: [view('a')] },
      { kind: 'error', name: 'copy_token', payload: { code: 'sign_in_required', message: 'sign in', fields: [] } },
      { kind: 'event', name: 'pixie://profile', payload: view('a', { state: 'waiting' }) },
    ]);
    expect(seen).toHaveBeenCalledWith(view('a', { state: 'waiting' }));
  });

  it('records nothing without a tap', async () => {
    const ipc = await import('./index');
    fakeBackend({ list_profiles: () => [] });
    await ipc.listProfiles();
    expect(window.__PIXIE_IPC_TAP__).toBeUndefined();
  });
});
