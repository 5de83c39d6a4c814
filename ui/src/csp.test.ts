// The app runs under `style-src 'self'; script-src 'self'`: no inline styles or scripts may
// appear in the markup, and nothing may load from elsewhere.
import { describe, expect, it } from 'vitest';

const components = import.meta.glob('./**/*.svelte', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;
const html = import.meta.glob('../index.html', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

function markup(source: string): string {
  return source.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<style[\s\S]*?<\/style>/g, '');
}

describe('CSP-safe markup', () => {
  it('has components to check', () => {
    expect(Object.keys(components).length).toBeGreaterThan(5);
  });

  for (const [file, source] of Object.entries(components)) {
    it(`${file} sets no inline style and loads nothing remote`, () => {
      const m = markup(source);
      expect(m).not.toMatch(/\sstyle(=|:)/);
      expect(source).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|login\.example\.com)[a-z]/i);
      expect(source).not.toMatch(/\beval\(|new Function\(/);
    });
  }

  it('index.html has no inline script or style', () => {
    const page = Object.values(html)[0] ?? '';
    expect(page).toMatch(/<script type="module" src="\/src\/main.ts"><\/script>/);
    expect(page).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\ssrc=)[^>]*>[^<]/);
    expect(page).not.toMatch(/<style|\sstyle=/);
  });
});
