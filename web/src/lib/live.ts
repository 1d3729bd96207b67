// Live updates: one WebSocket to /ws for the whole console, subscribed to every account
// ("*"). Updates are coalesced per account and handed to the pages at most once per
// animation frame, so a burst of thousands of records costs one render.
import type { Account } from "./api";
import { token } from "./api";

export interface Update {
  account: Account;
  partition?: number;
  offset?: number;
}
export type LiveState = "connecting" | "open" | "closed";

export class Live extends EventTarget {
  state: LiveState = "closed";
  /** Why the last connection ended, or the subscription's refusal, for the status line. */
  problem = "";
  /** Updates received in the last whole second (for the status line). */
  rate = 0;
  /** Increments on every (re)connection: pages refetch what they show, updates may have been missed. */
  generation = 0;

  /** False once the server refused "*" (with authentication, only an admin may watch everything):
   *  then the pages name the accounts they show (watch()). */
  wildcard = true;
  private watched = new Set<string>();
  private ws: WebSocket | null = null;
  private pending = new Map<string, Update>();
  private frame = 0;
  private timer = 0;
  private backoff = 500;
  private counted = 0;
  private nextId = 1;
  private stopped = false;

  constructor() {
    super();
    token.addEventListener("change", () => this.reconnect());
    setInterval(() => {
      if (this.rate !== this.counted) {
        this.rate = this.counted;
        this.changed();
      }
      this.counted = 0;
    }, 1000);
  }

  url(): string {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const t = token.get();
    return `${scheme}//${location.host}/ws${t ? `?access_token=${encodeURIComponent(t)}` : ""}`;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }

  reconnect(): void {
    clearTimeout(this.timer);
    this.wildcard = true; // another token may see everything
    const old = this.ws;
    this.ws = null;
    old?.close(1000);
    this.backoff = 500;
    if (!this.stopped) this.connect();
  }

  private connect(): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.problem = String(e);
      this.retry();
      return;
    }
    this.ws = ws;
    this.state = "connecting";
    this.changed();
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.state = "open";
      this.problem = "";
      this.backoff = 500;
      this.generation++;
      if (this.wildcard) ws.send(JSON.stringify({ id: `sub-all-${this.nextId++}`, op: "subscribe", accounts: "*" }));
      else if (this.watched.size) ws.send(JSON.stringify({ id: `sub-${this.nextId++}`, op: "subscribe", accounts: [...this.watched] }));
      this.changed();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== "string") return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.op === "update") {
        const account = msg.account as Account | undefined;
        if (!account || typeof account.id !== "string") return;
        this.counted++;
        this.pending.set(account.id, {
          account,
          partition: msg.partition as number | undefined,
          offset: msg.offset as number | undefined,
        });
        this.schedule();
      } else if (msg.ok === false) {
        const err = msg.error as { code?: string; message?: string } | undefined;
        if (String(msg.id).startsWith("sub-all-")) {
          this.wildcard = false; // watch what the pages show instead
          if (this.watched.size) ws.send(JSON.stringify({ id: `sub-${this.nextId++}`, op: "subscribe", accounts: [...this.watched] }));
        }
        this.problem = `${this.wildcard ? "subscription" : "subscription to every account"} refused: ${err?.code ?? "error"}${err?.message ? ` (${err.message})` : ""}`;
        this.changed();
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.state = "closed";
      this.problem =
        ev.code === 1008
          ? `closed by the server: ${ev.reason || "policy"}`
          : ev.code === 1006
            ? "connection lost (or refused: check the token)"
            : `closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`;
      this.changed();
      this.retry();
    };
  }

  /** The accounts a page shows; used only when the subscription to every account was refused. */
  watch(ids: Iterable<string>): void {
    const next = new Set(ids);
    const added = [...next].filter((id) => !this.watched.has(id));
    const removed = [...this.watched].filter((id) => !next.has(id));
    this.watched = next;
    if (this.wildcard || this.state !== "open" || !this.ws) return;
    if (removed.length) this.ws.send(JSON.stringify({ id: `unsub-${this.nextId++}`, op: "unsubscribe", accounts: removed }));
    if (added.length) this.ws.send(JSON.stringify({ id: `sub-${this.nextId++}`, op: "subscribe", accounts: added }));
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 5000);
  }

  private schedule(): void {
    if (this.frame) return;
    // requestAnimationFrame does not run in a hidden tab; the timeout keeps the batch bounded there.
    const flush = () => {
      cancelAnimationFrame(this.frame);
      clearTimeout(fallback);
      this.frame = 0;
      const batch = this.pending;
      this.pending = new Map();
      this.dispatchEvent(new CustomEvent<Map<string, Update>>("updates", { detail: batch }));
    };
    const fallback = window.setTimeout(flush, 250);
    this.frame = requestAnimationFrame(flush);
  }

  private changed(): void {
    this.dispatchEvent(new Event("state"));
  }
}

export const live = new Live();

/** Subscribe a listener to coalesced batches; returns the unsubscribe function. */
export function onUpdates(fn: (batch: Map<string, Update>) => void): () => void {
  const h = (e: Event) => fn((e as CustomEvent<Map<string, Update>>).detail);
  live.addEventListener("updates", h);
  return () => live.removeEventListener("updates", h);
}
