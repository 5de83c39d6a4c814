import '@testing-library/jest-dom/vitest';
import { randomFillSync } from 'node:crypto';
import { afterEach } from 'vitest';
import { clearMocks } from '@tauri-apps/api/mocks';

// The Tauri mocks number callbacks with crypto.getRandomValues.
if (!('crypto' in window) || typeof window.crypto.getRandomValues !== 'function') {
  Object.defineProperty(window, 'crypto', {
    value: { getRandomValues: <T extends ArrayBufferView>(b: T): T => randomFillSync(b) },
  });
}

afterEach(() => {
  clearMocks();
});
