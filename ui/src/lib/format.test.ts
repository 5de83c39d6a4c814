import { describe, expect, it } from 'vitest';
import { countdownText, formatClaim, formatDuration, formatRelative } from './format';

describe('formatDuration', () => {
  it('shows minutes and seconds under an hour', () => {
    expect(formatDuration(299_000)).toBe('4:59');
    expect(formatDuration(300_000)).toBe('5:00');
    expect(formatDuration(59_000)).toBe('0:59');
    expect(formatDuration(3_599_000)).toBe('59:59');
  });

  it('rounds up to the next second', () => {
    expect(formatDuration(298_001)).toBe('4:59');
    expect(formatDuration(1)).toBe('0:01');
  });

  it('shows hours and minutes under a day', () => {
    expect(formatDuration(3_600_000)).toBe('1 h');
    expect(formatDuration((3600 + 3 * 60) * 1000)).toBe('1 h 3 min');
    expect(formatDuration((23 * 3600 + 59 * 60 + 59) * 1000)).toBe('23 h 59 min');
  });

  it('shows days and hours beyond', () => {
    expect(formatDuration(86_400_000)).toBe('1 d');
    expect(formatDuration((2 * 86400 + 5 * 3600) * 1000)).toBe('2 d 5 h');
  });

  it('never goes negative', () => {
    expect(formatDuration(-5000)).toBe('0:00');
  });
});

describe('countdownText', () => {
  const now = 1_700_000_000_000;
  it('counts down', () => {
    expect(countdownText(now + 299_000, now)).toBe('expires in 4:59');
    expect(countdownText(now + 3_780_000, now)).toBe('expires in 1 h 3 min');
  });
  it('says refresh due at and after expiry', () => {
    expect(countdownText(now, now)).toBe('refresh due');
    expect(countdownText(now - 1, now)).toBe('refresh due');
    expect(countdownText(now - 3_600_000, now)).toBe('refresh due');
  });
});

describe('formatRelative', () => {
  const now = 1_700_000_000_000;
  it('future', () => {
    expect(formatRelative(now + 5 * 60_000, now)).toBe('in 5 min');
    expect(formatRelative(now + 30_000, now)).toBe('in 30 s');
    expect(formatRelative(now + 3 * 3_600_000, now)).toBe('in 3 h');
    expect(formatRelative(now + 3 * 86_400_000, now)).toBe('in 3 d');
  });
  it('past', () => {
    expect(formatRelative(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatRelative(now - 90_000, now)).toBe('2 min ago');
  });
  it('now', () => {
    expect(formatRelative(now + 2000, now)).toBe('just now');
    expect(formatRelative(now - 2000, now)).toBe('just now');
  });
});

describe('formatClaim', () => {
  const now = 1_700_000_000_000;
  it('formats time claims as local date-time plus relative', () => {
    const exp = now / 1000 + 300;
    const text = formatClaim('exp', exp, now);
    expect(text).toContain('(in 5 min)');
    expect(text).toContain(new Date(exp * 1000).getFullYear().toString());
    expect(formatClaim('iat', now / 1000 - 3 * 3600, now)).toContain('(3 h ago)');
    expect(formatClaim('auth_time', now / 1000, now)).toContain('just now');
  });
  it('shows a time claim beyond any date as its number instead of throwing', () => {
    expect(formatClaim('exp', 1e20, now)).toBe('100000000000000000000');
    expect(formatClaim('iat', -1e300, now)).toBe('-1e+300');
    expect(formatClaim('exp', 8.64e12, now)).toContain('(in ');
  });
  it('keeps strings and shows other values as JSON', () => {
    expect(formatClaim('sub', 'alice', now)).toBe('alice');
    expect(formatClaim('aud', ['a', 'b'], now)).toBe('["a","b"]');
    expect(formatClaim('email_verified', true, now)).toBe('true');
    expect(formatClaim('exp', 'soon', now)).toBe('soon');
    expect(formatClaim('count', 3, now)).toBe('3');
  });
});

describe('programText', () => {
  it('reads "kubectl, 2 min ago"', async () => {
    const { programText } = await import('./format');
    const now = 1_700_000_000_000;
    expect(programText('kubectl', now - 120_000, now)).toBe('kubectl, 2 min ago');
    expect(programText('git', now - 1_000, now)).toBe('git, just now');
  });
});
