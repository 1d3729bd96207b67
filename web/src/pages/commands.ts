import { html, nothing, type TemplateResult } from "lit";
import { ApiError, api, get, type Account, type CommandInfo } from "../lib/api";
import { LightElement } from "../lib/element";
import { formatClock, formatMoney, formatMs, isUuid, newKey, parseAmount } from "../lib/format";
import { accountHref } from "../lib/router";

type Op = "create" | "deposit" | "withdraw" | "transfer";
type Status = "sending" | "applied" | "pending" | "completed" | "refunded" | "rejected" | "failed" | "unknown";

interface Step {
  status: string;
  at: Date;
}

interface Outcome {
  n: number;
  op: Op;
  title: string;
  key: string;
  status: Status;
  http?: number;
  ms?: number;
  commandId?: string;
  partition?: number;
  offset?: number;
  account?: Account;
  transferId?: string;
  from?: string;
  to?: string;
  steps: Step[];
  started: number;
  settledMs?: number;
  error?: { code: string; message: string };
  note?: string;
}

interface FormState {
  values: Record<string, string>;
  key: string;
  errors: Record<string, string>;
  busy: boolean;
}

const FIELDS: Record<Op, { name: string; label: string; help?: string; optional?: boolean; kind: "id" | "amount" | "name" }[]> = {
  create: [
    { name: "name", label: "Name", kind: "name" },
    { name: "id", label: "Id (optional)", help: "A UUID; leave empty and the service picks one", optional: true, kind: "id" },
  ],
  deposit: [
    { name: "account", label: "Account id", kind: "id" },
    { name: "amount", label: "Amount", help: "e.g. 12.34", kind: "amount" },
  ],
  withdraw: [
    { name: "account", label: "Account id", kind: "id" },
    { name: "amount", label: "Amount", help: "e.g. 12.34", kind: "amount" },
  ],
  transfer: [
    { name: "from", label: "From account id", kind: "id" },
    { name: "to", label: "To account id", kind: "id" },
    { name: "amount", label: "Amount", help: "e.g. 12.34", kind: "amount" },
  ],
};

const TITLES: Record<Op, string> = {
  create: "Create an account",
  deposit: "Deposit",
  withdraw: "Withdraw",
  transfer: "Transfer",
};
const SUBMIT: Record<Op, string> = { create: "Create account", deposit: "Deposit", withdraw: "Withdraw", transfer: "Transfer" };
const OPS: Op[] = ["create", "deposit", "withdraw", "transfer"];
const FINAL = new Set(["applied", "completed", "refunded", "rejected"]);

const blank = (): FormState => ({ values: {}, key: newKey(), errors: {}, busy: false });

/** Forms for the four commands; each sends an Idempotency-Key and shows the outcome, its position and latency. */
export class CommandsPage extends LightElement {
  static override properties = { params: { attribute: false } };
  declare params: URLSearchParams;

  private forms: Record<Op, FormState> = { create: blank(), deposit: blank(), withdraw: blank(), transfer: blank() };
  private outcomes: Outcome[] = [];
  private counter = 0;
  private polls = new Set<number>();

  constructor() {
    super();
    this.params = new URLSearchParams();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.polls.forEach((t) => clearTimeout(t));
    this.polls.clear();
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (!changed.has("params")) return;
    const op = this.params.get("op") as Op | null;
    for (const field of ["account", "from", "to"]) {
      const v = this.params.get(field);
      if (!v) continue;
      for (const o of OPS) if (FIELDS[o].some((f) => f.name === field) && (!op || o === op)) this.forms[o].values[field] = v;
    }
  }

  protected override updated(changed: Map<string, unknown>): void {
    const op = this.params.get("op");
    if (changed.has("params") && op && OPS.includes(op as Op)) {
      const form = this.querySelector<HTMLFormElement>(`form[data-op="${op}"]`);
      const empty = [...(form?.querySelectorAll<HTMLInputElement>("input[data-field]") ?? [])].find((i) => !i.value);
      (empty ?? form?.querySelector<HTMLInputElement>("input"))?.focus();
    }
  }

  private input(op: Op, field: string, e: Event): void {
    this.forms[op].values[field] = (e.target as HTMLInputElement).value;
    if (this.forms[op].errors[field]) {
      delete this.forms[op].errors[field];
      this.requestUpdate();
    }
  }

  private validate(op: Op): { body: Record<string, unknown>; path: string; title: string } | null {
    const f = this.forms[op];
    const v = (k: string) => (f.values[k] ?? "").trim();
    f.errors = {};
    const body: Record<string, unknown> = {};
    for (const field of FIELDS[op]) {
      const value = v(field.name);
      if (!value) {
        if (!field.optional) f.errors[field.name] = `Enter the ${field.label.toLowerCase()}`;
        continue;
      }
      if (field.kind === "id" && !isUuid(value)) f.errors[field.name] = "An account id is a UUID like 0b1c…-…";
      if (field.kind === "amount") {
        const a = parseAmount(value);
        if (a.ok) body.amount = a.cents;
        else f.errors[field.name] = a.error;
      }
      if (field.kind === "name" && value.length > 200) f.errors[field.name] = "At most 200 characters";
      if (field.kind !== "amount") body[field.name] = field.kind === "id" ? value.toLowerCase() : value;
    }
    if (!f.key.trim()) f.errors.key = "An idempotency key is needed (New key makes one)";
    if (op === "transfer" && body.from && body.from === body.to) f.errors.to = "Choose another account than the source";
    if (Object.keys(f.errors).length) return null;
    const amount = typeof body.amount === "number" ? formatMoney(body.amount) : "";
    switch (op) {
      case "create":
        return { body, path: "/accounts", title: `Create “${String(body.name)}”` };
      case "deposit":
      case "withdraw": {
        const account = String(body.account);
        return {
          body: { amount: body.amount },
          path: `/accounts/${encodeURIComponent(account)}/${op}`,
          title: `${op === "deposit" ? "Deposit" : "Withdraw"} ${amount} ${op === "deposit" ? "to" : "from"} ${account.slice(0, 8)}…`,
        };
      }
      case "transfer":
        return {
          body,
          path: "/transfers",
          title: `Transfer ${amount} from ${String(body.from).slice(0, 8)}… to ${String(body.to).slice(0, 8)}…`,
        };
    }
  }

  private async submit(op: Op, e: Event): Promise<void> {
    e.preventDefault();
    const f = this.forms[op];
    if (f.busy) return;
    const req = this.validate(op);
    if (!req) {
      this.requestUpdate();
      await this.updateComplete;
      this.querySelector<HTMLInputElement>(`form[data-op="${op}"] [aria-invalid="true"]`)?.focus();
      return;
    }
    const key = f.key.trim();
    const o: Outcome = { n: ++this.counter, op, title: req.title, key, status: "sending", steps: [], started: performance.now() };
    this.outcomes = [o, ...this.outcomes].slice(0, 50);
    f.busy = true;
    this.requestUpdate();
    let keepKey = false;
    try {
      const res = await api<Record<string, unknown>>("POST", req.path, { body: req.body, idempotencyKey: key });
      o.http = res.status;
      o.ms = res.ms;
      o.commandId = res.headers.get("X-Command-Id") ?? key;
      if (op === "transfer") {
        const t = res.body as { transfer_id?: string; status?: string; from?: string; to?: string };
        o.transferId = t.transfer_id;
        o.from = t.from;
        o.to = t.to;
        this.step(o, t.status ?? "unknown");
        const pos = /^(\d+)-(\d+)$/.exec(t.transfer_id ?? "");
        if (pos) [o.partition, o.offset] = [Number(pos[1]), Number(pos[2])];
      } else {
        o.account = res.body as unknown as Account;
        this.step(o, "applied");
      }
      this.afterSuccess(op, o);
      void this.follow(o);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      o.http = err.status || undefined;
      o.ms = err.ms;
      o.commandId = err.commandId ?? undefined;
      o.error = { code: err.code, message: err.message };
      if (err.status === 504) {
        const b = err.body as { command_id?: string; partition?: number; offset?: number } | null;
        o.commandId = b?.command_id ?? o.commandId ?? key;
        o.partition = b?.partition;
        o.offset = b?.offset;
        o.note = "Written to the log but not projected in time: the outcome follows.";
        this.step(o, "pending");
        keepKey = true;
        void this.follow(o);
      } else if (err.status === 503 || err.status === 0 || err.status >= 500) {
        o.status = "failed";
        o.note =
          err.status === 503
            ? `Not written: the service could not reach the log.${err.retryAfter !== null ? ` Retry after ${err.retryAfter} s` : " Retry"} — the key is kept, so sending again is safe.`
            : "No answer: the command may or may not have been written. The key is kept: sending again is safe.";
        keepKey = true;
      } else {
        o.status = "rejected";
        if (err.status === 422 && err.code === "idempotency_key_reused")
          o.note = "This key was already used for a different request; nothing was applied. Use a new key.";
        if (o.commandId && err.status === 409) void this.follow(o);
      }
    } finally {
      f.busy = false;
      if (!keepKey) f.key = newKey();
      this.requestUpdate();
    }
  }

  private step(o: Outcome, status: string): void {
    const last = o.steps[o.steps.length - 1];
    if (last?.status === status) return;
    o.steps.push({ status, at: new Date() });
    o.status = (["applied", "pending", "completed", "refunded", "rejected"].includes(status) ? status : "unknown") as Status;
    if (FINAL.has(status)) o.settledMs = performance.now() - o.started;
  }

  /** Polls GET /commands/{id}: the position, and a pending command's fate. */
  private async follow(o: Outcome): Promise<void> {
    const id = o.commandId;
    if (!id) return;
    const deadline = performance.now() + 60_000;
    for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
      try {
        const info = (await get<CommandInfo>(`/commands/${encodeURIComponent(id)}`)).body;
        o.partition = info.partition;
        o.offset = info.offset;
        const first = this.outcomes.find((x) => x !== o && x.n < o.n && x.partition === o.partition && x.offset === o.offset && x.op === o.op);
        if (first && !o.note) o.note = `The same record as outcome ${first.n}: this key's first outcome, nothing applied twice.`;
        if (info.transfer_id) o.transferId = info.transfer_id;
        if (info.account && o.status !== "rejected") o.account = info.account;
        if (o.status !== "rejected" || info.status === "rejected") {
          if (info.reason && !o.error) o.error = { code: info.reason, message: "" };
          this.step(o, info.status);
        }
        this.requestUpdate();
        if (info.status !== "pending") return;
      } catch (e) {
        if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 503 && e.status !== 0)) return;
      }
      if (performance.now() > deadline) {
        o.note = "Still pending after 60 s; GET /commands/" + id + " tells its fate.";
        this.requestUpdate();
        return;
      }
      await new Promise<void>((resolve) => {
        const t = window.setTimeout(() => (this.polls.delete(t), resolve()), delay);
        this.polls.add(t);
      });
      if (!this.isConnected) return;
    }
  }

  /** After a create, offer the new account to the other forms. */
  private afterSuccess(op: Op, o: Outcome): void {
    if (op !== "create" || !o.account?.id) return;
    const id = o.account.id;
    for (const [other, field] of [["deposit", "account"], ["withdraw", "account"], ["transfer", "from"]] as const)
      if (!this.forms[other].values[field]) this.forms[other].values[field] = id;
  }

  private renderForm(op: Op): TemplateResult {
    const f = this.forms[op];
    const fid = (name: string) => `cmd-${op}-${name}`;
    const described = (name: string, help?: string) =>
      [help ? `${fid(name)}-help` : "", f.errors[name] ? `${fid(name)}-error` : ""].filter(Boolean).join(" ") || nothing;
    return html`<form class="card command" data-op=${op} aria-labelledby="${fid("title")}" novalidate @submit=${(e: Event) => this.submit(op, e)}>
      <h2 id=${fid("title")}>${TITLES[op]}</h2>
      ${FIELDS[op].map(
        (field) => html`<div class="field">
          <label for=${fid(field.name)}>${field.label}</label>
          <input id=${fid(field.name)} data-field=${field.name} name=${field.name} autocomplete="off" spellcheck="false"
            inputmode=${field.kind === "amount" ? "decimal" : "text"}
            class=${field.kind === "id" ? "mono" : ""}
            aria-invalid=${f.errors[field.name] ? "true" : "false"}
            aria-describedby=${described(field.name, field.help)}
            ?required=${!field.optional}
            .value=${f.values[field.name] ?? ""}
            @input=${(e: Event) => this.input(op, field.name, e)} />
          ${field.help ? html`<span class="help" id="${fid(field.name)}-help">${field.help}</span>` : nothing}
          ${f.errors[field.name] ? html`<span class="field-error" id="${fid(field.name)}-error">${f.errors[field.name]}</span>` : nothing}
        </div>`,
      )}
      <div class="field key">
        <label for=${fid("key")}>Idempotency key</label>
        <div class="inline">
          <input id=${fid("key")} class="mono" data-field="key" autocomplete="off" spellcheck="false" maxlength="128"
            aria-describedby="${fid("key")}-help${f.errors.key ? ` ${fid("key")}-error` : ""}" aria-invalid=${f.errors.key ? "true" : "false"}
            .value=${f.key} @input=${(e: Event) => (f.key = (e.target as HTMLInputElement).value)} />
          <button type="button" class="secondary" @click=${() => ((f.key = newKey()), this.requestUpdate())}>New key<span class="visually-hidden"> for ${TITLES[op].toLowerCase()}</span></button>
        </div>
        <span class="help" id="${fid("key")}-help">Sending again with the same key applies nothing twice.</span>
        ${f.errors.key ? html`<span class="field-error" id="${fid("key")}-error">${f.errors.key}</span>` : nothing}
      </div>
      <button type="submit" ?disabled=${f.busy}>${f.busy ? "Sending…" : SUBMIT[op]}</button>
    </form>`;
  }

  private renderOutcome(o: Outcome): TemplateResult {
    const statusText: Record<Status, string> = {
      sending: "sending…",
      applied: "applied",
      pending: "pending",
      completed: "completed",
      refunded: "refunded",
      rejected: "rejected",
      failed: "not written",
      unknown: "unknown",
    };
    const accountId = o.account?.id;
    return html`<li class="outcome" data-op=${o.op} data-status=${o.status} data-account=${accountId ?? ""} data-transfer=${o.transferId ?? ""}>
      <div class="outcome-head">
        <span class="badge ${o.status}">${statusText[o.status]}</span>
        <strong><span class="muted">${o.n}.</span> ${o.title}</strong>
      </div>
      <dl class="outcome-facts">
        ${o.http !== undefined ? html`<div><dt>HTTP</dt><dd>${o.http}</dd></div>` : nothing}
        ${o.ms !== undefined ? html`<div><dt>Latency</dt><dd class="latency">${formatMs(o.ms)}</dd></div>` : nothing}
        ${o.partition !== undefined && o.offset !== undefined
          ? html`<div><dt>Position</dt><dd class="position">partition ${o.partition}, offset ${o.offset}</dd></div>`
          : nothing}
        ${o.commandId ? html`<div><dt>Command id</dt><dd class="mono">${o.commandId}</dd></div>` : nothing}
        ${o.transferId ? html`<div><dt>Transfer id</dt><dd class="mono">${o.transferId}</dd></div>` : nothing}
        ${o.account
          ? html`<div><dt>Account after this record</dt><dd><a href=${accountHref(o.account.id)}>${o.account.name}</a> · balance
                <span class="balance">${formatMoney(o.account.balance)}</span> · version ${o.account.version}</dd></div>`
          : nothing}
        ${o.error ? html`<div><dt>Reason</dt><dd class="reason">${o.error.code}${o.error.message ? `: ${o.error.message}` : ""}</dd></div>` : nothing}
      </dl>
      ${o.op === "transfer" && o.steps.length
        ? html`<ol class="steps" aria-label="Transfer states">
            ${o.steps.map((s) => html`<li class=${s.status}>${s.status} <span class="muted">${formatClock(s.at)}</span></li>`)}
          </ol>
          ${o.settledMs !== undefined && o.steps.length > 1 ? html`<p class="muted">Settled ${formatMs(o.settledMs)} after sending.</p>` : nothing}`
        : nothing}
      ${o.note ? html`<p class="note-inline">${o.note}</p>` : nothing}
      <p class="muted">Key <span class="mono">${o.key}</span></p>
    </li>`;
  }

  override render() {
    return html`
      <h1 tabindex="-1">Commands</h1>
      <p class="lede">Each command is written to the log and answered once projected. Amounts are in units with two decimals.</p>
      <div class="command-grid">${OPS.map((op) => this.renderForm(op))}</div>
      <section aria-labelledby="outcomes-heading" class="outcomes">
        <h2 id="outcomes-heading">Outcomes</h2>
        ${this.outcomes.length === 0 ? html`<p class="muted">Nothing sent yet.</p>` : nothing}
        <div role="log" aria-live="polite" aria-relevant="additions text" aria-labelledby="outcomes-heading">
          <ol class="outcome-list">
            ${this.outcomes.map((o) => this.renderOutcome(o))}
          </ol>
        </div>
      </section>
    `;
  }
}
customElements.define("xb-commands-page", CommandsPage);
