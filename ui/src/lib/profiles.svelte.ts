import type { ProfileView } from './ipc';

/** The profile list and the selected row. The list is replaced, never mutated, so rows whose
 * profile did not change keep their object and are not re-rendered. */
class ProfileStore {
  list = $state.raw<ProfileView[]>([]);
  selected = $state<string | null>(null);
  /** False until the first list arrived from the backend. */
  loaded = $state(false);

  replace(list: ProfileView[]): void {
    this.list = list;
    if (this.selected === null || !list.some((p) => p.name === this.selected)) {
      this.selected = list[0]?.name ?? null;
    }
  }

  upsert(p: ProfileView): void {
    const i = this.list.findIndex((x) => x.name === p.name);
    if (i < 0) {
      this.list = [...this.list, p];
      if (this.selected === null) this.selected = p.name;
    } else {
      const next = this.list.slice();
      next[i] = p;
      this.list = next;
    }
  }

  get(name: string): ProfileView | undefined {
    return this.list.find((p) => p.name === name);
  }

  /** Move the selection by `delta` rows; returns the newly selected name. */
  move(delta: number): string | null {
    const n = this.list.length;
    if (n === 0) return null;
    const i = this.selected === null ? -1 : this.list.findIndex((p) => p.name === this.selected);
    const j = i < 0 ? (delta > 0 ? 0 : n - 1) : Math.min(n - 1, Math.max(0, i + delta));
    this.selected = this.list[j]?.name ?? null;
    return this.selected;
  }
}

export const profiles = new ProfileStore();
export type { ProfileStore };
