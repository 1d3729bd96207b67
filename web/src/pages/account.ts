import { html, nothing } from "lit";
import { ApiError, describeError, get, type Account, type HistoryEvent, type HistoryPage } from "../lib/api";
import { LightElement } from "../lib/element";
import { formatMoney, formatTime } from "../lib/format";
import { live, onUpdates } from "../lib/live";
import { accountHref, go, href } from "../lib/router";

const HISTORY_SIZES = [20, 50, 100, 500];
const CREDIT = new Set(["deposit", "transfer_credit", "transfer_refund", "credit", "refund"]);
const DEBIT = new Set(["withdraw", "transfer"]);

function signed(e: HistoryEvent): string {
  if (DEBIT.has(e.type)) return `−${formatMoney(e.amount)}`;
  if (CREDIT.has(e.type)) return `+${formatMoney(e.amount)}`;
  return e.amount ? formatMoney(e.amount) : "";
}

const TYPE_NAMES: Record<string, string> = {
  create: "Created",
  deposit: "Deposit",
  withdraw: "Withdrawal",
  transfer: "Transfer out",
  transfer_credit: "Transfer in",
  transfer_refund: "Transfer refunded",
};

/** One account: its state and its history (cursor pages), both live while the page is open. */
export class AccountDetailPage extends LightElement {
  static override properties = { accountId: { attribute: false }, params: { attribute: false } };
  declare accountId: string;
  declare params: URLSearchParams;

  private account: Account | null = null;
  private error = "";
  private missing = false;
  private events: HistoryEvent[] = [];
  private next: string | null = null;
  private historyError = "";
  private historyLoading = false;
  private trail: string[] = [];
  private flash = "";
  private refetch = 0;
  private generation = live.generation;
  private off: (() => void)[] = [];
  private seq = 0;

  constructor() {
    super();
    this.accountId = "";
    this.params = new URLSearchParams();
  }

  private get cursor(): string {
    return this.params.get("after") ?? "";
  }
  private get limit(): number {
    const n = Number(this.params.get("limit"));
    return HISTORY_SIZES.includes(n) ? n : 20;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.off.push(
      onUpdates((batch) => {
        const u = batch.get(this.accountId);
        if (!u) return;
        this.account = u.account;
        this.missing = false;
        this.flash = this.flash === "flash-a" ? "flash-b" : "flash-a";
        this.requestUpdate();
        // On the newest page of the history, show the new records as they land.
        if (this.next === null) {
          clearTimeout(this.refetch);
          this.refetch = window.setTimeout(() => void this.loadHistory(), 150);
        }
      }),
    );
    const onState = () => {
      if (live.generation !== this.generation) {
        this.generation = live.generation;
        void this.loadAll();
      }
    };
    live.addEventListener("state", onState);
    this.off.push(() => live.removeEventListener("state", onState));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.off.forEach((f) => f());
    this.off = [];
    clearTimeout(this.refetch);
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("accountId") && changed.get("accountId") !== undefined) this.trail = [];
    if (changed.has("accountId") || changed.has("params")) void this.loadAll();
  }

  private async loadAll(): Promise<void> {
    await Promise.all([this.loadAccount(), this.loadHistory()]);
  }

  private async loadAccount(): Promise<void> {
    const id = this.accountId;
    live.watch([id]);
    try {
      const res = await get<Account>(`/accounts/${encodeURIComponent(id)}`);
      if (id !== this.accountId) return;
      this.account = res.body;
      this.error = "";
      this.missing = false;
    } catch (e) {
      if (id !== this.accountId) return;
      this.missing = e instanceof ApiError && e.status === 404;
      this.account = null;
      this.error = this.missing ? "" : describeError(e);
    }
    this.requestUpdate();
  }

  private async loadHistory(): Promise<void> {
    const seq = ++this.seq;
    const q = new URLSearchParams({ limit: String(this.limit) });
    if (this.cursor) q.set("after", this.cursor);
    this.historyLoading = true;
    this.requestUpdate();
    try {
      const res = await get<HistoryPage>(`/accounts/${encodeURIComponent(this.accountId)}/events?${q}`);
      if (seq !== this.seq) return;
      this.events = Array.isArray(res.body.events) ? res.body.events : [];
      this.next = res.body.next ?? null;
      this.historyError = "";
    } catch (e) {
      if (seq !== this.seq) return;
      this.events = [];
      this.next = null;
      this.historyError = e instanceof ApiError && e.status === 404 ? "" : describeError(e);
    } finally {
      if (seq === this.seq) {
        this.historyLoading = false;
        this.requestUpdate();
      }
    }
  }

  private page(after: string): void {
    go(`/accounts/${encodeURIComponent(this.accountId)}`, { after, limit: this.limit === 20 ? null : this.limit });
  }

  override render() {
    const a = this.account;
    const pageNo = this.trail.length + 1;
    const commands = (op: string, field = "account") => href("/commands", { op, [field]: this.accountId });
    return html`
      <p class="crumbs"><a href="#/accounts">Accounts</a> › <span>${this.accountId}</span></p>
      <h1 tabindex="-1">${a ? a.name : "Account"}</h1>
      ${this.missing
        ? html`<p class="note error" role="alert">No account with id <code>${this.accountId}</code> (or it belongs to another principal).</p>`
        : nothing}
      ${this.error ? html`<p class="note error" role="alert">Could not load the account: ${this.error}</p>` : nothing}
      ${a
        ? html`<dl class="facts ${this.flash}">
              <div><dt>Balance</dt><dd class="balance big">${formatMoney(a.balance)}</dd></div>
              <div><dt>Version</dt><dd class="version">${a.version}</dd></div>
              <div><dt>Owner</dt><dd>${a.owner ?? html`<span class="muted">none recorded</span>`}</dd></div>
              <div class="wide"><dt>Id</dt><dd><code>${a.id}</code></dd></div>
            </dl>
            <p class="actions">
              <a class="button" href=${commands("deposit")}>Deposit</a>
              <a class="button" href=${commands("withdraw")}>Withdraw</a>
              <a class="button" href=${commands("transfer", "from")}>Transfer from</a>
              <a class="button" href=${commands("transfer", "to")}>Transfer to</a>
            </p>`
        : nothing}
      <h2 id="history-heading">History</h2>
      ${this.historyError ? html`<p class="note error" role="alert">Could not load the history: ${this.historyError}</p>` : nothing}
      <div class="table-wrap" role="region" aria-labelledby="history-heading" tabindex="0">
        <table class="history" aria-busy=${this.historyLoading ? "true" : "false"}>
          <thead>
            <tr>
              <th scope="col" class="num">#</th>
              <th scope="col">Time</th>
              <th scope="col">What</th>
              <th scope="col" class="num">Amount</th>
              <th scope="col" class="num">Balance after</th>
              <th scope="col">Counterparty</th>
              <th scope="col">Transfer</th>
              <th scope="col">Command id</th>
              <th scope="col">Position</th>
            </tr>
          </thead>
          <tbody>
            ${this.events.map(
              (e) => html`<tr data-type=${e.type}>
                <td class="num">${e.cursor}</td>
                <td class="nowrap">${formatTime(e.ts)}</td>
                <td class="nowrap">${TYPE_NAMES[e.type] ?? e.type}</td>
                <td class="num amount">${signed(e)}</td>
                <td class="num">${formatMoney(e.balance_after)}</td>
                <td class="id">${e.counterparty ? html`<a href=${accountHref(e.counterparty)}>${e.counterparty}</a>` : ""}</td>
                <td>${e.transfer_id ?? ""}</td>
                <td class="id">${e.command_id ?? ""}</td>
                <td class="nowrap">${e.partition}/${e.offset}</td>
              </tr>`,
            )}
            ${!this.historyLoading && this.events.length === 0 && !this.historyError
              ? html`<tr><td colspan="9" class="empty">No records.</td></tr>`
              : nothing}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="History pages">
        <button type="button" ?disabled=${!this.cursor} @click=${() => ((this.trail = []), this.page(""))}>First page</button>
        <button type="button" ?disabled=${!this.cursor} @click=${() => this.page(this.trail.pop() ?? "")}>Previous page</button>
        <span class="page-no">Page ${pageNo}</span>
        <button type="button" ?disabled=${this.next === null}
          @click=${() => {
            if (this.next === null) return;
            this.trail.push(this.cursor);
            this.page(this.next);
          }}>Next page</button>
      </nav>
      <p class="meta">${this.next === null ? "This is the newest page: new records appear as they are applied." : "Position is partition/offset in the topic."}</p>
    `;
  }
}
customElements.define("xb-account-page", AccountDetailPage);
