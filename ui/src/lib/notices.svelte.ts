import type { IpcError, NoticeKind } from './ipc';

export interface NoticeItem {
  id: number;
  kind: NoticeKind;
  message: string;
}

const INFO_MS = 6000;
const ERROR_MS = 12000;

/** Short messages for the person; each goes away by itself after a few seconds. */
class NoticeStore {
  items = $state<NoticeItem[]>([]);
  #next = 1;

  push(kind: NoticeKind, message: string): number {
    const id = this.#next++;
    this.items = [...this.items.slice(-4), { id, kind, message }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? ERROR_MS : INFO_MS);
    return id;
  }

  info(message: string): number {
    return this.push('info', message);
  }

  error(message: string): number {
    return this.push('error', message);
  }

  /** Show a failed command, unless the person cancelled it. */
  failure(e: IpcError): void {
    if (e.code === 'cancelled') return;
    this.error(e.message);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((n) => n.id !== id);
  }

  clear(): void {
    this.items = [];
  }
}

export const notices = new NoticeStore();
