import { uiReady } from './ipc';

let reported = false;

/** Tell the backend the list is on screen; only the first call does anything. */
export function reportReady(count: number, renderMs: number): void {
  if (reported) return;
  reported = true;
  uiReady({ profiles: count, render_ms: Math.round(renderMs * 1000) / 1000 }).catch(() => undefined);
}

/** For tests. */
export function resetReady(): void {
  reported = false;
}
