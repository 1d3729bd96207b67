import { html, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { ApiError, describeError, get, type AccountPage } from "../lib/api";
import { mergeUpdates, type AccountsWindow } from "../lib/accounts-window";
import { LightElement } from "../lib/element";
import { formatClock, formatMoney, isUuid, normalizePrefix } from "../lib/format";
import { health } from "../lib/health";
import { live, onUpdates } from "../lib/live";
import { accountHref, go } from "../lib/router";

export const PAGE_SIZES = [25, 50, 100, 200, 500, 1000];
const DEFAULT_LIMIT = 50;

/** The accounts list: server-side paging by id cursor (holds for any number of accounts), search by id prefix, live rows. */
export class AccountsPage extends LightElement {
  static override properties = { params: { attribute: false } };
  declare params: URLSearchParams;

  private win: AccountsWindow = { rows: [], after: "", next: null, limit: DEFAULT_LIMIT, prefix: "" };
  private loaded = false;
  private loading = false;
  private error = "";
  private stale = false;
  private prefixIgnored = false;
  private query = "";
  private queryError = "";
  private trail: string[] = []; // cursors of the pages before this one
  private flash = new Map<string, string>();
  private lastUpdate: Date | null = null;
  private generation = live.generation;
  private loadSeq = 0;
  private typing = 0;
  private retry = 0;
  private off: (() => void)[] = [];

  constructor() {
    super();
    this.params = new URLSearchParams();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.off.push(onUpdates((batch) => this.onBatch([...batch.values()].map((u) => u.account))));
    const onState = () => {
      if (live.generation !== this.generation) {
        this.generation = live.generation;
        void this.load(true); // reconnected: updates may have been missed
      }
    };
    live.addEventListener("state", onState);
    const onHealth = () => this.requestUpdate();
    health.addEventListener("change", onHealth);
    this.off.push(() => live.removeEventListener("state", onState), () => health.removeEventListener("change", onHealth));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.off.forEach((f) => f());
    this.off = [];
    clearTimeout(this.typing);
    clearTimeout(this.retry);
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (!changed.has("params")) return;
    const limit = Number(this.params.get("limit"));
    const prefix = this.params.get("q") ?? "";
    const after = this.params.get("after") ?? "";
    if (prefix !== this.win.prefix) this.trail = [];
    if (document.activeElement?.id !== "accounts-search") {
      this.query = prefix;
      const norm = normalizePrefix(prefix);
      this.queryError = norm.ok ? "" : norm.error;
    }
    this.win = {
      ...this.win,
      limit: PAGE_SIZES.includes(limit) ? limit : DEFAULT_LIMIT,
      prefix: normalizePrefix(prefix).ok ? prefix.toLowerCase() : "",
      after,
    };
    void this.load(false);
  }

  private async load(quiet: boolean): Promise<void> {
    const seq = ++this.loadSeq;
    clearTimeout(this.retry);
    if (!quiet) this.loading = true;
    this.requestUpdate();
    const q = new URLSearchParams({ limit: String(this.win.limit) });
    if (this.win.after) q.set("after", this.win.after);
    if (this.win.prefix) q.set("prefix", this.win.prefix);
    try {
      const res = await get<AccountPage>(`/accounts?${q}`);
      if (seq !== this.loadSeq) return;
      const all = Array.isArray(res.body.accounts) ? res.body.accounts : [];
      // A server without the prefix parameter answers every id: show only the matching ones.
      const rows = all.filter((a) => a.id.startsWith(this.win.prefix));
      this.prefixIgnored = rows.length !== all.length;
      this.win = { ...this.win, rows, next: res.body.next ?? null };
      live.watch(rows.map((a) => a.id));
      if (!quiet) this.flash.clear();
      this.stale = res.headers.get("X-Stale") === "true";
      this.error = "";
      this.loaded = true;
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.error = describeError(e);
      if (e instanceof ApiError && (e.status === 503 || e.status === 0)) {
        this.retry = window.setTimeout(() => void this.load(true), (e.retryAfter ?? 2) * 1000);
      }
    } finally {
      if (seq === this.loadSeq) {
        this.loading = false;
        this.requestUpdate();
      }
    }
  }

  private onBatch(updates: import("../lib/api").Account[]): void {
    if (!this.loaded || this.loading) return;
    const { changed, added } = mergeUpdates(this.win, updates);
    if (changed.length === 0 && added.length === 0) return;
    for (const id of [...changed, ...added]) this.flash.set(id, this.flash.get(id) === "flash-a" ? "flash-b" : "flash-a");
    this.lastUpdate = new Date();
    this.requestUpdate();
  }

  private onSearch(e: Event): void {
    this.query = (e.target as HTMLInputElement).value;
    const norm = normalizePrefix(this.query);
    this.queryError = norm.ok ? "" : norm.error;
    this.requestUpdate();
    clearTimeout(this.typing);
    if (!norm.ok) return;
    this.typing = window.setTimeout(() => go("/accounts", { q: norm.prefix, limit: this.limitParam() }, true), 250);
  }

  private limitParam(): number | null {
    return this.win.limit === DEFAULT_LIMIT ? null : this.win.limit;
  }

  private page(after: string): void {
    go("/accounts", { q: this.win.prefix, limit: this.limitParam(), after });
  }

  private next(): void {
    if (this.win.next === null) return;
    this.trail.push(this.win.after);
    this.page(this.win.next);
  }

  private previous(): void {
    this.page(this.trail.pop() ?? "");
  }

  private first(): void {
    this.trail = [];
    this.page("");
  }

  override render() {
    const w = this.win;
    const pageNo = this.trail.length + 1;
    const replaying = health.replaying && !this.loading && w.rows.length === 0;
    const showOwner = w.rows.some((a) => a.owner !== undefined);
    return html`
      <h1 tabindex="-1">Accounts</h1>
      <p class="lede">Every account in id order, ${w.limit} to a page. Rows change as the service applies records.</p>
      <form class="toolbar" role="search" aria-label="Accounts" @submit=${(e: Event) => e.preventDefault()}>
        <div class="field">
          <label for="accounts-search">Search by id prefix</label>
          <input id="accounts-search" type="search" autocomplete="off" spellcheck="false" maxlength="36"
            aria-describedby="accounts-search-help ${this.queryError ? "accounts-search-error" : ""}"
            aria-invalid=${this.queryError ? "true" : "false"} .value=${this.query} @input=${this.onSearch} />
          <span id="accounts-search-help" class="help">Hexadecimal, e.g. 4f2a</span>
          ${this.queryError ? html`<span id="accounts-search-error" class="field-error">${this.queryError}</span>` : nothing}
        </div>
        <div class="field">
          <label for="accounts-limit">Rows per page</label>
          <select id="accounts-limit" @change=${(e: Event) => go("/accounts", { q: w.prefix, limit: (e.target as HTMLSelectElement).value })}>
            ${PAGE_SIZES.map((n) => html`<option value=${n} ?selected=${n === w.limit}>${n}</option>`)}
          </select>
        </div>
      </form>
      ${isUuid(this.query) ? html`<p><a href=${accountHref(this.query.trim().toLowerCase())}>Open account ${this.query.trim()}</a></p>` : nothing}
      ${this.error ? html`<p class="note error" role="alert">Could not load accounts: ${this.error}</p>` : nothing}
      ${this.stale ? html`<p class="note warn">Some partitions have no serving owner right now: rows come from a local copy and may be behind.</p>` : nothing}
      ${this.prefixIgnored
        ? html`<p class="note warn">This server does not filter by prefix: each page shows only the matching ids among all ids.</p>`
        : nothing}
      <p class="meta" aria-live="polite">
        ${this.loading ? "Loading…" : html`Page ${pageNo}: ${w.rows.length} account${w.rows.length === 1 ? "" : "s"}${w.prefix ? html` with ids starting <code>${w.prefix}</code>` : nothing}.`}
        <span class="live-note">${this.lastUpdate ? `Last live change ${formatClock(this.lastUpdate)}.` : ""}</span>
      </p>
      ${replaying
        ? html`<p class="note info">The service is replaying the log; accounts appear here as their partitions catch up (progress above).</p>`
        : nothing}
      <div class="table-wrap" role="region" aria-label="Accounts, page ${pageNo}" tabindex="0">
        <table class="accounts" aria-busy=${this.loading ? "true" : "false"}>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col" class="num">Balance</th>
              <th scope="col" class="num">Version</th>
              ${showOwner ? html`<th scope="col">Owner</th>` : nothing}
            </tr>
          </thead>
          <tbody>
            ${repeat(
              w.rows,
              (a) => a.id,
              (a) => html`<tr data-id=${a.id} class=${this.flash.get(a.id) ?? ""}>
                <td class="id"><a href=${accountHref(a.id)}>${a.id}</a></td>
                <td>${a.name}</td>
                <td class="num balance">${formatMoney(a.balance)}</td>
                <td class="num">${a.version}</td>
                ${showOwner ? html`<td>${a.owner ?? ""}</td>` : nothing}
              </tr>`,
            )}
            ${!this.loading && this.loaded && w.rows.length === 0
              ? html`<tr><td colspan=${showOwner ? 5 : 4} class="empty">${w.prefix ? "No account id starts with that." : "No accounts yet."}</td></tr>`
              : nothing}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Account pages">
        <button type="button" @click=${this.first} ?disabled=${!w.after}>First page</button>
        <button type="button" @click=${this.previous} ?disabled=${!w.after}>Previous page</button>
        <span class="page-no">Page ${pageNo}</span>
        <button type="button" class="next" @click=${this.next} ?disabled=${w.next === null || this.loading}>Next page</button>
      </nav>
    `;
  }
}
customElements.define("xb-accounts-page", AccountsPage);
