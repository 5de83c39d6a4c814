import { readable, type Readable } from 'svelte/store';

/**
 * The one shared clock for every countdown: ticks once a second while anything reads it.
 * Rows subscribe lazily (only those that show a countdown), so there is a single interval no
 * matter how many profiles are listed.
 */
export const now: Readable<number> = readable(Date.now(), (set) => {
  set(Date.now());
  const id = setInterval(() => set(Date.now()), 1000);
  return () => clearInterval(id);
});
