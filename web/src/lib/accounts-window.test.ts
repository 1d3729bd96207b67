import { describe, expect, it } from "vitest";
import type { Account } from "./api";
import { mergeUpdates, type AccountsWindow } from "./accounts-window";

const acc = (id: string, balance = 0): Account => ({ id, name: id, balance, version: 1 });
const win = (ids: string[], after = "", next: string | null = null, limit = 3, prefix = ""): AccountsWindow => ({
  rows: ids.map((id) => acc(id)),
  after,
  next,
  limit,
  prefix,
});

describe("mergeUpdates", () => {
  it("replaces a row in place", () => {
    const w = win(["b", "d"]);
    expect(mergeUpdates(w, [acc("d", 500)])).toEqual({ changed: ["d"], added: [] });
    expect(w.rows.map((r) => r.balance)).toEqual([0, 500]);
  });
  it("inserts a new id inside the page's window, in order", () => {
    const w = win(["b", "d"]);
    expect(mergeUpdates(w, [acc("c")]).added).toEqual(["c"]);
    expect(w.rows.map((r) => r.id)).toEqual(["b", "c", "d"]);
  });
  it("leaves ids of other pages alone", () => {
    const w = win(["c", "e", "g"], "b", "g");
    expect(mergeUpdates(w, [acc("a"), acc("b"), acc("h")])).toEqual({ changed: [], added: [] });
    expect(w.rows.map((r) => r.id)).toEqual(["c", "e", "g"]);
  });
  it("takes ids past the last row on the last page", () => {
    const w = win(["c"], "b", null, 3);
    mergeUpdates(w, [acc("z")]);
    expect(w.rows.map((r) => r.id)).toEqual(["c", "z"]);
  });
  it("keeps the page size: what falls off starts the next page", () => {
    const w = win(["c", "e", "g"], "", "g", 3);
    mergeUpdates(w, [acc("d")]);
    expect(w.rows.map((r) => r.id)).toEqual(["c", "d", "e"]);
    expect(w.next).toBe("e");
  });
  it("honours the search prefix", () => {
    const w = win(["ab1"], "", null, 3, "ab");
    mergeUpdates(w, [acc("ac0"), acc("ab2")]);
    expect(w.rows.map((r) => r.id)).toEqual(["ab1", "ab2"]);
  });
});
