// One page of the accounts list, kept current by live updates without refetching: an update
// replaces its row; a new account whose id falls inside the page's window (ids after the
// page's cursor, up to its last row, or beyond it on the last page) is inserted in order.
import type { Account } from "./api";

export interface AccountsWindow {
  rows: Account[];
  after: string; // the page's cursor ("" = the first page)
  next: string | null; // the server's cursor for the next page; null on the last page
  limit: number;
  prefix: string;
}

export interface MergeResult {
  changed: string[]; // ids whose row was replaced
  added: string[]; // ids inserted
}

export function mergeUpdates(w: AccountsWindow, updates: Iterable<Account>): MergeResult {
  const result: MergeResult = { changed: [], added: [] };
  const index = new Map<string, number>();
  w.rows.forEach((a, i) => index.set(a.id, i));
  const inserts: Account[] = [];
  for (const a of updates) {
    const i = index.get(a.id);
    if (i !== undefined) {
      w.rows[i] = a;
      result.changed.push(a.id);
      continue;
    }
    if (!a.id.startsWith(w.prefix)) continue;
    if (w.after && a.id <= w.after) continue;
    const last = w.rows.length ? w.rows[w.rows.length - 1].id : null;
    if (w.next !== null && last !== null && a.id > last) continue; // belongs to a later page
    inserts.push(a);
  }
  if (inserts.length) {
    w.rows.push(...inserts);
    w.rows.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    if (w.rows.length > w.limit) {
      w.rows.length = w.limit;
      w.next = w.rows[w.rows.length - 1].id; // what fell off starts the next page
    }
    const kept = new Set(w.rows.map((r) => r.id));
    result.added = inserts.map((a) => a.id).filter((id) => kept.has(id));
  }
  return result;
}
