import { describe, expect, it } from "vitest";
import { formatMoney, isUuid, newKey, normalizePrefix, parseAmount } from "./format";

describe("formatMoney", () => {
  it("shows cents as units with two decimals and thousands separators", () => {
    expect(formatMoney(0)).toBe("0.00");
    expect(formatMoney(5)).toBe("0.05");
    expect(formatMoney(1234)).toBe("12.34");
    expect(formatMoney(123456789)).toBe("1,234,567.89");
    expect(formatMoney(-1050)).toBe("-10.50");
    expect(formatMoney(1e15)).toBe("10,000,000,000,000.00");
  });
});

describe("parseAmount", () => {
  it("reads units into integer cents without floating point", () => {
    expect(parseAmount("12.34")).toEqual({ ok: true, cents: 1234 });
    expect(parseAmount("12")).toEqual({ ok: true, cents: 1200 });
    expect(parseAmount("0.5")).toEqual({ ok: true, cents: 50 });
    expect(parseAmount("1,000.01")).toEqual({ ok: true, cents: 100001 });
    expect(parseAmount("0.29")).toEqual({ ok: true, cents: 29 }); // 0.29 * 100 = 28.999… in floats
    expect(parseAmount(" 10000000000000.00 ")).toEqual({ ok: true, cents: 1e15 });
  });
  it("refuses what is not an amount the service takes", () => {
    for (const bad of ["", "0", "0.00", "-1", "1.234", "abc", "1e3", "10000000000000.01", "1.2.3"]) expect(parseAmount(bad).ok).toBe(false);
  });
});

describe("ids", () => {
  it("makes version 4 UUIDs", () => {
    const k = newKey();
    expect(isUuid(k)).toBe(true);
    expect(k[14]).toBe("4");
    expect(new Set(Array.from({ length: 100 }, newKey)).size).toBe(100);
  });
  it("takes hexadecimal prefixes only", () => {
    expect(normalizePrefix(" 4F2a ")).toEqual({ ok: true, prefix: "4f2a" });
    expect(normalizePrefix("xyz").ok).toBe(false);
  });
});
