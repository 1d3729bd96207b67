import { html, nothing } from "lit";
import { ApiError, describeError, get, type DeadLetter, type DeadLetterPage } from "../lib/api";
import { LightElement } from "../lib/element";
import { formatCount } from "../lib/format";
import { go } from "../lib/router";

const SIZES = [25, 50, 100, 500];
const SHORT = 80;

/** The <topic>.dlq records: what the projector could not apply, with their origin and reason. */
export class DeadLettersPage extends LightElement {
  static override properties = { params: { attribute: false } };
  declare params: URLSearchParams;

  private letters: DeadLetter[] = [];
  private next: number | null = null;
  private error = "";
  private status = 0;
  private loading = false;
  private trail: string[] = [];
  private seq = 0;

  constructor() {
    super();
    this.params = new URLSearchParams();
  }

  private get cursor(): string {
    return this.params.get("after") ?? "";
  }
  private get limit(): number {
    const n = Number(this.params.get("limit"));
    return SIZES.includes(n) ? n : 50;
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("params")) void this.load();
  }

  private async load(): Promise<void> {
    const seq = ++this.seq;
    this.loading = true;
    this.requestUpdate();
    const q = new URLSearchParams({ limit: String(this.limit) });
    if (this.cursor) q.set("after", this.cursor);
    try {
      const res = await get<DeadLetterPage>(`/dlq?${q}`);
      if (seq !== this.seq) return;
      this.letters = Array.isArray(res.body.letters) ? res.body.letters : [];
      this.next = res.body.next ?? null;
      this.error = "";
      this.status = 0;
    } catch (e) {
      if (seq !== this.seq) return;
      this.letters = [];
      this.next = null;
      this.status = e instanceof ApiError ? e.status : 0;
      this.error = describeError(e);
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.requestUpdate();
      }
    }
  }

  private page(after: string): void {
    go("/dead-letters", { after, limit: this.limit === 50 ? null : this.limit });
  }

  private value(d: DeadLetter) {
    const v = d.value ?? "";
    const cut = d.truncated_from ? html` <span class="muted">(cut from ${formatCount(d.truncated_from)} bytes)</span>` : nothing;
    if (v.length <= SHORT) return html`<code class="payload">${v}</code>${cut}`;
    return html`<details>
        <summary><code class="payload">${v.slice(0, SHORT)}…</code> <span class="muted">(${formatCount(v.length)} characters)</span></summary>
        <pre class="payload">${v}</pre>
      </details>${cut}`;
  }

  override render() {
    const pageNo = this.trail.length + 1;
    return html`
      <h1 tabindex="-1">Dead letters</h1>
      <p class="lede">Records of the topic the projector could not apply (malformed, unknown type, misplaced), copied to <code>&lt;topic&gt;.dlq</code> with their origin and reason.</p>
      <div class="toolbar">
        <div class="field">
          <label for="dlq-limit">Rows per page</label>
          <select id="dlq-limit" @change=${(e: Event) => go("/dead-letters", { limit: (e.target as HTMLSelectElement).value })}>
            ${SIZES.map((n) => html`<option value=${n} ?selected=${n === this.limit}>${n}</option>`)}
          </select>
        </div>
        <button type="button" class="secondary" @click=${() => void this.load()}>Refresh</button>
      </div>
      ${this.error
        ? html`<p class="note error" role="alert">
            ${this.status === 404
              ? "This server has no /dlq route."
              : this.status === 403
                ? "Dead letters are for administrators: this token's principal is not one."
                : html`Could not load dead letters: ${this.error}`}
          </p>`
        : nothing}
      <p class="meta" aria-live="polite">${this.loading ? "Loading…" : `Page ${pageNo}: ${this.letters.length} dead letter${this.letters.length === 1 ? "" : "s"}.`}</p>
      <div class="table-wrap" role="region" aria-label="Dead letters, page ${pageNo}" tabindex="0">
        <table class="dead-letters" aria-busy=${this.loading ? "true" : "false"}>
          <thead>
            <tr>
              <th scope="col" class="num">Offset</th>
              <th scope="col">Origin</th>
              <th scope="col">Reason</th>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            ${this.letters.map(
              (d) => html`<tr data-offset=${d.offset}>
                <td class="num">${d.offset}</td>
                <td class="nowrap origin">${d.origin ? `${d.origin.topic ?? "?"} / ${d.origin.partition ?? "?"} / ${d.origin.offset ?? "?"}` : "—"}</td>
                <td class="reason">${d.reason ?? ""}</td>
                <td class="id">${d.key ?? html`<span class="muted">none</span>`}</td>
                <td class="value">${this.value(d)}</td>
              </tr>`,
            )}
            ${!this.loading && !this.error && this.letters.length === 0 ? html`<tr><td colspan="5" class="empty">No dead letters.</td></tr>` : nothing}
          </tbody>
        </table>
      </div>
      <p class="meta">Origin is topic / partition / offset of the record that was dead-lettered.</p>
      <nav class="pager" aria-label="Dead letter pages">
        <button type="button" ?disabled=${!this.cursor} @click=${() => ((this.trail = []), this.page(""))}>First page</button>
        <button type="button" ?disabled=${!this.cursor} @click=${() => this.page(this.trail.pop() ?? "")}>Previous page</button>
        <span class="page-no">Page ${pageNo}</span>
        <button type="button" ?disabled=${this.next === null}
          @click=${() => {
            if (this.next === null) return;
            this.trail.push(this.cursor);
            this.page(String(this.next));
          }}>Next page</button>
      </nav>
    `;
  }
}
customElements.define("xb-dead-letters-page", DeadLettersPage);
