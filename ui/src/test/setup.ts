import '@testing-library/jest-dom/vitest';
import { afterEach } from 'vitest';
import { clearMocks } from '@tauri-apps/api/mocks';

// The Tauri mocks number callbacks with crypto.getRandomValues (Node's Web Crypto provides it).
if (typeof window.crypto?.getRandomValues !== 'function') {
  throw new Error('crypto.getRandomValues is missing from the test environment');
}

afterEach(() => {
  clearMocks();
});
