// Money, ids and times as the console shows and reads them. Amounts are integer minor units
// (cents) on the wire (DESIGN §1: 1 ≤ Amount ≤ 10^15); people type and read them as 12.34.

export const MAX_AMOUNT = 1_000_000_000_000_000;

/** 123456 → "1,234.56"; -5 → "-0.05". Exact for |cents| ≤ 2^53 (JSON numbers past that are not). */
export function formatMoney(cents: number): string {
  if (!Number.isFinite(cents)) return "—";
  const negative = cents < 0;
  const digits = BigInt(Math.trunc(Math.abs(cents))).toString().padStart(3, "0");
  const whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${whole}.${digits.slice(-2)}`;
}

export type AmountParse = { ok: true; cents: number } | { ok: false; error: string };

/** "12.34" → 1234 cents, "12" → 1200, "0.5" → 50; commas as thousands separators are allowed. */
export function parseAmount(text: string): AmountParse {
  const t = text.trim().replace(/,/g, "");
  if (t === "") return { ok: false, error: "Enter an amount, e.g. 12.34" };
  const m = /^(\d+)(?:\.(\d{0,2}))?$/.exec(t);
  if (!m) return { ok: false, error: "Use digits with at most two decimals, e.g. 12.34" };
  const cents = BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0") || "0");
  if (cents <= 0n) return { ok: false, error: "The amount must be more than 0.00" };
  if (cents > BigInt(MAX_AMOUNT)) return { ok: false, error: "The amount must be at most 10,000,000,000,000.00" };
  return { ok: true, cents: Number(cents) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string): boolean => UUID.test(s.trim());

/** A random UUID v4. crypto.randomUUID needs a secure context; getRandomValues does not. */
export function newKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What the search box may send as `prefix`: hex digits and hyphens, lower-cased. */
export function normalizePrefix(text: string): { ok: true; prefix: string } | { ok: false; error: string } {
  const p = text.trim().toLowerCase();
  if (!/^[0-9a-f-]*$/.test(p)) return { ok: false, error: "Account ids are hexadecimal: use 0-9, a-f and -" };
  if (p.length > 36) return { ok: false, error: "An account id has 36 characters" };
  return { ok: true, prefix: p };
}

export function formatTime(ms: number | undefined | null): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatClock(date: Date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "—";
  return Math.round(n).toLocaleString("en-US");
}

/** Number formatting for rates: 3 significant digits, no exponent. */
export function formatRate(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "—";
  if (n === 0) return "0";
  const a = Math.abs(n);
  return a >= 100 ? Math.round(n).toLocaleString("en-US") : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}
