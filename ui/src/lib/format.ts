// Pure formatters for durations, countdowns, relative times and claim values.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A remaining lifetime, shortest readable form: "4:59" under an hour, "1 h 3 min" under a day,
 * "2 d 5 h" beyond. Rounds up to the next second so "0:00" never shows while time is left.
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / SECOND));
  if (total < 3600) {
    const m = Math.floor(total / 60);
    const s = total % 60;
    return `${m}:${s.toString().padStart(2, '0')}`;
  }
  if (total < 86400) {
    const h = Math.floor(total / 3600);
    const min = Math.floor((total % 3600) / 60);
    return min === 0 ? `${h} h` : `${h} h ${min} min`;
  }
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  return h === 0 ? `${d} d` : `${d} d ${h} h`;
}

/** The row's countdown: "expires in 4:59", or "refresh due" once the access token expired. */
export function countdownText(expiresAt: number, now: number): string {
  const left = expiresAt - now;
  return left <= 0 ? 'refresh due' : `expires in ${formatDuration(left)}`;
}

/** "in 5 min", "3 h ago", "just now": the distance from `now` to `at` (both epoch ms). */
export function formatRelative(at: number, now: number): string {
  const diff = at - now;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 5 * SECOND) return 'just now';
  if (abs < MINUTE) text = `${Math.round(abs / SECOND)} s`;
  else if (abs < HOUR) text = `${Math.round(abs / MINUTE)} min`;
  else if (abs < 2 * DAY) text = `${Math.round(abs / HOUR)} h`;
  else text = `${Math.round(abs / DAY)} d`;
  return diff > 0 ? `in ${text}` : `${text} ago`;
}

/** A program that asked the token broker, as the row shows it: "kubectl, 2 min ago". */
export function programText(name: string, at: number, now: number): string {
  return `${name}, ${formatRelative(at, now)}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Local date and time, e.g. "Mar 4, 2025, 10:03:12 AM" (depends on the locale). */
export function formatDateTime(epochMs: number): string {
  return dateTime.format(new Date(epochMs));
}

/** Local date-time plus relative, e.g. "Mar 4, 2025, 10:03:12 AM (in 5 min)". */
export function formatInstant(epochMs: number, now: number): string {
  return `${formatDateTime(epochMs)} (${formatRelative(epochMs, now)})`;
}

/** JWT claims that hold a NumericDate (seconds since the epoch). */
export const TIME_CLAIMS: ReadonlySet<string> = new Set(['exp', 'iat', 'auth_time', 'nbf', 'updated_at']);

/** The largest instant a JavaScript Date holds (±8.64e15 ms): a claim beyond it is no date. */
const MAX_DATE_MS = 8.64e15;

/**
 * One claim value as text: time claims as local date-time plus relative, the rest as JSON. A
 * time claim outside what a date can hold (`exp: 1e20`) is shown as its number, not thrown on.
 */
export function formatClaim(name: string, value: unknown, now: number): string {
  if (
    TIME_CLAIMS.has(name) &&
    typeof value === 'number' &&
    Number.isFinite(value) &&
    Math.abs(value * 1000) <= MAX_DATE_MS
  ) {
    return formatInstant(value * 1000, now);
  }
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}
