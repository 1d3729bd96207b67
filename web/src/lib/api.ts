// The HTTP side of the console: every request goes to the origin that served the console
// (CSP connect-src 'self'), with `Authorization: Bearer <token>` when a token is set.

const TOKEN_KEY = "xbanku.token";

/** The bearer token lives in sessionStorage: it goes with the tab, not the browser. */
class TokenStore extends EventTarget {
  get(): string {
    try {
      return sessionStorage.getItem(TOKEN_KEY) ?? "";
    } catch {
      return "";
    }
  }
  set(token: string): void {
    const t = token.trim();
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage disabled: the token lasts until the page is left */
    }
    this.dispatchEvent(new Event("change"));
  }
}
export const token = new TokenStore();

export interface AuthProblem {
  status: number;
  challenge: string; // the WWW-Authenticate header, verbatim ("" when absent)
  message: string;
  path: string;
}

/** The last 401/403 the API answered; cleared by the next successful call. */
class AuthNotices extends EventTarget {
  problem: AuthProblem | null = null;
  report(p: AuthProblem | null): void {
    if (p === null && this.problem === null) return;
    this.problem = p;
    this.dispatchEvent(new Event("change"));
  }
}
export const authNotices = new AuthNotices();

export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: no answer (network)
    readonly code: string,
    message: string,
    readonly body: unknown = null,
    readonly headers: Headers | null = null,
    readonly ms = 0,
  ) {
    super(message);
  }
  get retryAfter(): number | null {
    const v = this.headers?.get("Retry-After");
    return v && /^\d+$/.test(v) ? Number(v) : null;
  }
  get commandId(): string | null {
    return this.headers?.get("X-Command-Id") ?? null;
  }
}

export interface ApiResult<T> {
  status: number;
  body: T;
  headers: Headers;
  ms: number; // round trip, as the browser measured it
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

function errorFrom(status: number, body: unknown): { code: string; message: string } {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (e && typeof e.code === "string") return { code: e.code, message: typeof e.message === "string" ? e.message : e.code };
  if (status === 504 && (body as { status?: string } | null)?.status === "pending")
    return { code: "pending", message: "The command is written but not yet projected" };
  return { code: `http_${status}`, message: `The server answered ${status}` };
}

export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "unreachable", "No answer from the service (is it running?)", null, null, performance.now() - started);
  }
  const text = await res.text();
  const ms = performance.now() - started;
  let body: unknown = null;
  const type = res.headers.get("Content-Type") ?? "";
  if (type.includes("json") && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  } else {
    body = text;
  }
  if (res.status === 401 || res.status === 403) {
    const { message } = errorFrom(res.status, body);
    authNotices.report({ status: res.status, challenge: res.headers.get("WWW-Authenticate") ?? "", message, path });
  } else if (res.ok) {
    authNotices.report(null);
  }
  if (!res.ok) {
    const { code, message } = errorFrom(res.status, body);
    throw new ApiError(res.status, code, message, body, res.headers, ms);
  }
  return { status: res.status, body: body as T, headers: res.headers, ms };
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>("GET", path, { signal });

/** A short human sentence for an error, for the pages' error notes. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return e.message;
    if (e.status === 401) return `401 ${e.code}: ${e.message}. Enter a bearer token at the top of the page.`;
    if (e.status === 403) return `403 ${e.code}: ${e.message}. The token's principal may not see this.`;
    const retry = e.retryAfter !== null ? ` (retry after ${e.retryAfter} s)` : "";
    return `${e.status} ${e.code}: ${e.message}${retry}`;
  }
  return String((e as Error)?.message ?? e);
}

// Shapes the API answers (DESIGN §3 and the console's routes).
export interface Account {
  id: string;
  name: string;
  balance: number;
  version: number;
  owner?: string;
}
export interface AccountPage {
  accounts: Account[];
  next: string | null;
}
export interface HistoryEvent {
  partition: number;
  offset: number;
  type: string;
  amount: number;
  balance_after: number;
  counterparty?: string;
  command_id?: string;
  transfer_id?: string;
  ts?: number;
  principal?: string;
  request_id?: string;
  cursor: string;
}
export interface HistoryPage {
  events: HistoryEvent[];
  next: string | null;
}
export interface CommandInfo {
  command_id: string;
  type: string;
  status: string;
  reason?: string;
  partition: number;
  offset: number;
  account_id?: string;
  account?: Account;
  transfer_id?: string;
  from?: string;
  to?: string;
  amount?: number;
}
export interface Readiness {
  ready: boolean;
  instance: string;
  serving: number[];
  lag: Record<string, number>;
}
export interface ClusterMember {
  instance: string;
  url?: string;
  partitions: number[];
  standbys?: number[];
  self?: boolean;
  alive?: boolean;
}
export interface ClusterPartition {
  partition: number;
  owner: string | null;
  standbys?: string[];
  serving?: boolean | null; // null: the owner did not tell (it did not answer in time)
  applied?: number | null;
  end?: number | null;
  lag?: number | null;
}
export interface ClusterView {
  instance: string;
  partitions_total: number;
  members: ClusterMember[];
  partitions: ClusterPartition[];
}
export interface DeadLetter {
  offset: number;
  origin?: { topic?: string; partition?: number; offset?: number };
  reason?: string;
  key?: string | null;
  value?: string | null;
  truncated_from?: number;
}
export interface DeadLetterPage {
  letters: DeadLetter[];
  next: number | null;
}
