// ESLint: the recommended rules of ESLint, typescript-eslint and eslint-plugin-svelte.
// Formatting is prettier's job (npm run format); types are svelte-check's (npm run check).
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import { defineConfig } from 'eslint/config';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default defineConfig(
  // Generated from src-tauri/src/ipc.rs (see README).
  { ignores: ['dist/', 'src/lib/ipc/bindings.ts'] },
  js.configs.recommended,
  ts.configs.recommended,
  svelte.configs.recommended,
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'], svelteConfig } },
  },
  // TypeScript already resolves every name, browser globals included.
  { rules: { 'no-undef': 'off' } },
);
