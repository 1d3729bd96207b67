import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { html, nothing } from "lit";
import { authNotices, token } from "./lib/api";
import { LightElement, focusHeading } from "./lib/element";
import { formatCount } from "./lib/format";
import { health } from "./lib/health";
import { live } from "./lib/live";
import { metricsStore } from "./lib/metrics-store";
import { parseHash, type Page, type Route } from "./lib/router";
import "./pages/accounts";
import "./pages/account";
import "./pages/commands";
import "./pages/cluster";
import "./pages/dead-letters";
import "./pages/metrics";

const NAV: { page: Page; href: string; label: string }[] = [
  { page: "accounts", href: "#/accounts", label: "Accounts" },
  { page: "commands", href: "#/commands", label: "Commands" },
  { page: "cluster", href: "#/cluster", label: "Cluster" },
  { page: "dead-letters", href: "#/dead-letters", label: "Dead letters" },
  { page: "metrics", href: "#/metrics", label: "Metrics" },
];

const TITLES: Record<Page, string> = {
  accounts: "Accounts",
  account: "Account",
  commands: "Commands",
  cluster: "Cluster",
  "dead-letters": "Dead letters",
  metrics: "Metrics",
  "not-found": "Not found",
};

/** The shell: header (instance, live status, token), navigation, banners, and the routed page. */
class XbApp extends LightElement {
  private route: Route = parseHash(location.hash);
  private tokenDraft = "";
  private tokenSaved = Boolean(token.get());
  private navigated = false;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("hashchange", () => {
      this.route = parseHash(location.hash);
      this.navigated = true;
      this.requestUpdate();
    });
    for (const source of [health, live, authNotices, token] as EventTarget[])
      source.addEventListener(source === live ? "state" : "change", () => this.requestUpdate());
    token.addEventListener("change", () => {
      // Refetch with the new token: a new params object makes the page load again.
      this.route = parseHash(location.hash);
      void health.poll();
    });
    health.start();
    live.start();
    metricsStore.start();
  }

  protected override updated(): void {
    const r = this.route;
    const name = r.page === "account" ? `Account ${r.id.slice(0, 8)}` : TITLES[r.page];
    document.title = `${name} · xbanku${health.readiness?.instance ? ` (${health.readiness.instance})` : ""}`;
    if (this.navigated) {
      this.navigated = false;
      const main = this.querySelector<HTMLElement>("main");
      if (main) requestAnimationFrame(() => focusHeading(main));
    }
  }

  private saveToken(e: Event): void {
    e.preventDefault();
    token.set(this.tokenDraft);
    this.tokenSaved = Boolean(token.get());
    this.tokenDraft = "";
    this.requestUpdate();
  }

  private forgetToken(): void {
    token.set("");
    this.tokenSaved = false;
    this.requestUpdate();
  }

  private renderPage() {
    const r = this.route;
    switch (r.page) {
      case "accounts":
        return html`<xb-accounts-page .params=${r.params}></xb-accounts-page>`;
      case "account":
        return html`<xb-account-page .accountId=${r.id} .params=${r.params}></xb-account-page>`;
      case "commands":
        return html`<xb-commands-page .params=${r.params}></xb-commands-page>`;
      case "cluster":
        return html`<xb-cluster-page></xb-cluster-page>`;
      case "dead-letters":
        return html`<xb-dead-letters-page .params=${r.params}></xb-dead-letters-page>`;
      case "metrics":
        return html`<xb-metrics-page .params=${r.params}></xb-metrics-page>`;
      default:
        return html`<h1 tabindex="-1">Not found</h1>
          <p>No page at <code>${location.hash}</code>. <a href="#/accounts">Go to the accounts.</a></p>`;
    }
  }

  private renderLive() {
    const state = live.state;
    const label = state === "open" ? "Live" : state === "connecting" ? "Connecting…" : "Offline";
    return html`<p class="live-status" data-state=${state}>
      <span class="dot" aria-hidden="true"></span>
      <span>${label}</span>${state === "open" ? html`<span class="muted"> · ${formatCount(live.rate)} updates/s</span>` : nothing}
      ${state !== "open" && live.problem ? html`<span class="muted"> · ${live.problem}</span>` : nothing}
    </p>`;
  }

  private renderAuth() {
    const p = authNotices.problem;
    if (!p) return nothing;
    return html`<div class="banner error" role="alert">
      <h2>${p.status === 401 ? "Authentication required" : "Not allowed"}</h2>
      <p>
        <code>${p.path}</code> answered <strong>${p.status}</strong>${p.message ? html`: ${p.message}` : nothing}.
        ${p.challenge ? html`The server says <code class="challenge">WWW-Authenticate: ${p.challenge}</code>.` : nothing}
      </p>
      <p>
        ${p.status === 401
          ? this.tokenSaved
            ? "The token in use was refused: enter another one above."
            : "Enter a bearer token above; it is kept in this tab only."
          : "The token's principal may not do this: only its own accounts, or everything with the admin role."}
        <button type="button" class="secondary" @click=${() => this.querySelector<HTMLInputElement>("#token-input")?.focus()}>Go to the token field</button>
      </p>
    </div>`;
  }

  private renderReplay() {
    const r = health.readiness;
    if (health.error) {
      return html`<div class="banner error" role="alert"><p>The service does not answer <code>/readyz</code>: ${health.error}. Retrying every second.</p></div>`;
    }
    if (!r || r.ready) return nothing;
    const parts = Object.entries(r.lag).sort((a, b) => Number(a[0]) - Number(b[0]));
    const left = parts.reduce((n, [, v]) => n + v, 0);
    return html`<section class="banner info replay" aria-labelledby="replay-heading">
      <h2 id="replay-heading">Replaying the log</h2>
      <p>
        <strong>${r.instance}</strong> is catching up before it serves its partitions: ${formatCount(left)} record${left === 1 ? "" : "s"} left.
        Pages fill in as partitions become ready.
      </p>
      <ul class="replay-parts">
        ${parts.map(([p, n]) => {
          const peak = Math.max(health.peak.get(p) ?? n, n, 1);
          return html`<li data-partition=${p}>
            <label for="replay-${p}">Partition ${p}: ${n === 0 ? "caught up" : `${formatCount(n)} left`}</label>
            <progress id="replay-${p}" max=${peak} .value=${peak - n}></progress>
          </li>`;
        })}
      </ul>
    </section>`;
  }

  override render() {
    const r = health.readiness;
    const current = this.route.page === "account" ? "accounts" : this.route.page;
    return html`
      <button type="button" class="skip" @click=${() => this.querySelector<HTMLElement>("main")?.focus()}>Skip to content</button>
      <header class="top">
        <div class="brand">
          <p class="name">xbanku <span>console</span></p>
          <p class="instance">${r ? html`Instance <strong>${r.instance || "?"}</strong>${r.ready ? "" : " (replaying)"}` : "Connecting…"}</p>
          ${this.renderLive()}
        </div>
        <form class="token" @submit=${this.saveToken} aria-label="Authentication">
          <label for="token-input">Bearer token</label>
          <input id="token-input" type="password" autocomplete="off" spellcheck="false"
            placeholder=${this.tokenSaved ? "a token is set" : "none"} aria-describedby="token-help"
            .value=${this.tokenDraft} @input=${(e: Event) => (this.tokenDraft = (e.target as HTMLInputElement).value)} />
          <button type="submit">Use token</button>
          <button type="button" class="secondary" @click=${this.forgetToken} ?disabled=${!this.tokenSaved}>Forget token</button>
          <span id="token-help" class="help">${this.tokenSaved ? "A token is set for this tab." : "No token: requests go without one."}</span>
        </form>
      </header>
      <nav class="main-nav" aria-label="Pages">
        <ul>
          ${NAV.map((n) => html`<li><a href=${n.href} aria-current=${n.page === current ? "page" : "false"}>${n.label}</a></li>`)}
        </ul>
      </nav>
      ${this.renderAuth()} ${this.renderReplay()}
      <main id="main" tabindex="-1">${this.renderPage()}</main>
    `;
  }
}
customElements.define("xb-app", XbApp);
