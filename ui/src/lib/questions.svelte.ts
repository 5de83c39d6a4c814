import type { ProgramQuestion } from './ipc';

/** The programs waiting for the person to say whether they may have a profile's token, oldest
 * first. The backend sends the whole list whenever it changes (a question opened, answered, or
 * timed out), so the store only ever replaces it. */
class QuestionStore {
  open = $state.raw<ProgramQuestion[]>([]);

  replace(open: ProgramQuestion[]): void {
    this.open = open;
  }

  /** Takes an answered question off at once; the backend's next list confirms it. */
  drop(id: number): void {
    this.open = this.open.filter((q) => q.id !== id);
  }
}

export const questions = new QuestionStore();
