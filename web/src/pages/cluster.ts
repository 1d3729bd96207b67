import { html, nothing } from "lit";
import { ApiError, describeError, get, type ClusterMember, type ClusterPartition, type ClusterView } from "../lib/api";
import { LightElement } from "../lib/element";
import { formatClock, formatCount } from "../lib/format";
import { health } from "../lib/health";

const REFRESH_MS = 1000;
const MOVE_NOTE_MS = 60_000;

interface Move {
  from: string | null;
  to: string | null;
  at: Date;
}

/** Members, partition owners and standbys, serving state, lag and applied offsets, refreshed every second. */
export class ClusterPage extends LightElement {
  private view: ClusterView | null = null;
  private error = "";
  private unsupported = false;
  private refreshed: Date | null = null;
  private moves = new Map<number, Move>();
  private lastOwner = new Map<number, string | null>();
  private lastPartitions = new Map<string, number[]>(); // what each member served when last seen alive
  private gone = new Map<string, { member: ClusterMember; since: Date }>();
  private timer = 0;
  private active = false;

  override connectedCallback(): void {
    super.connectedCallback();
    this.active = true;
    void this.refresh();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.active = false;
    clearTimeout(this.timer);
  }

  private async refresh(): Promise<void> {
    clearTimeout(this.timer);
    try {
      const v = (await get<ClusterView>("/cluster")).body;
      if (!this.active) return;
      this.observe(v);
      this.view = v;
      this.error = "";
      this.unsupported = false;
      this.refreshed = new Date();
    } catch (e) {
      if (!this.active) return;
      this.unsupported = e instanceof ApiError && e.status === 404;
      this.error = describeError(e);
    }
    this.requestUpdate();
    this.timer = window.setTimeout(() => void this.refresh(), REFRESH_MS);
  }

  /** Notes partitions whose owner changed and members that disappeared or died since the last refresh. */
  private observe(next: ClusterView): void {
    const now = new Date();
    for (const p of next.partitions) {
      // Compared with the last owner seen, even if an answer in between left the partition out.
      const was = this.lastOwner.get(p.partition);
      const owner = p.owner ?? null;
      if (was !== undefined && was !== owner) {
        const earlier = this.moves.get(p.partition);
        // Keep where it came from across an ownerless interval: "node-2 → (none) → node-1" reads as node-2 → node-1.
        this.moves.set(p.partition, { from: was ?? earlier?.from ?? null, to: owner, at: now });
      }
      this.lastOwner.set(p.partition, owner);
    }
    if (this.view) {
      const present = new Set(next.members.filter((m) => m.alive !== false).map((m) => m.instance));
      for (const m of this.view.members)
        if (m.alive !== false && !present.has(m.instance) && !this.gone.has(m.instance)) this.gone.set(m.instance, { member: m, since: now });
    }
    for (const m of next.members) {
      if (m.alive !== false) this.lastPartitions.set(m.instance, m.partitions ?? []);
      if (m.alive === false && !this.gone.has(m.instance)) this.gone.set(m.instance, { member: m, since: now });
      if (m.alive !== false) this.gone.delete(m.instance);
    }
    for (const [p, mv] of this.moves) if (now.getTime() - mv.at.getTime() > MOVE_NOTE_MS) this.moves.delete(p);
  }

  private renderMembers(v: ClusterView) {
    const listed = new Set(v.members.map((m) => m.instance));
    const rows: { m: ClusterMember; alive: boolean; since?: Date }[] = [
      ...v.members.map((m) => ({ m, alive: m.alive !== false, since: this.gone.get(m.instance)?.since })),
      ...[...this.gone.values()].filter((g) => !listed.has(g.member.instance)).map((g) => ({ m: g.member, alive: false, since: g.since })),
    ].sort((a, b) => a.m.instance.localeCompare(b.m.instance));
    return html`<h2 id="members-heading">Members</h2>
      <div class="table-wrap" role="region" aria-labelledby="members-heading" tabindex="0">
        <table class="members">
          <thead>
            <tr>
              <th scope="col">Instance</th>
              <th scope="col">State</th>
              <th scope="col">Partitions</th>
              <th scope="col">Standbys</th>
              <th scope="col">URL</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              ({ m, alive, since }) => html`<tr data-instance=${m.instance} data-alive=${alive ? "true" : "false"} class=${alive ? "" : "gone"}>
                <th scope="row">${m.instance}${m.self ? html` <span class="tag">this console's instance</span>` : nothing}</th>
                <td>${alive
                  ? html`<span class="badge applied">alive</span>`
                  : html`<span class="badge rejected">gone</span>${since ? html` <span class="muted">since ${formatClock(since)}</span>` : nothing}`}</td>
                <td class="partitions">${alive
                  ? (m.partitions ?? []).join(", ") || "none"
                  : html`<span class="muted">had ${(this.lastPartitions.get(m.instance) ?? m.partitions ?? []).join(", ") || "none"}</span>`}</td>
                <td>${(m.standbys ?? []).join(", ") || html`<span class="muted">none</span>`}</td>
                <td class="id">${m.url ?? ""}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>`;
  }

  private renderPartitions(v: ClusterView) {
    const parts = [...v.partitions].sort((a, b) => a.partition - b.partition);
    const cell = (n: number | null | undefined) => (n === null || n === undefined ? html`<span class="muted">unknown</span>` : formatCount(n));
    return html`<h2 id="partitions-heading">Partitions</h2>
      <div class="table-wrap" role="region" aria-labelledby="partitions-heading" tabindex="0">
        <table class="partitions">
          <thead>
            <tr>
              <th scope="col" class="num">Partition</th>
              <th scope="col">Owner</th>
              <th scope="col">Standbys</th>
              <th scope="col">Serving</th>
              <th scope="col" class="num">Applied</th>
              <th scope="col" class="num">End</th>
              <th scope="col" class="num">Lag</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            ${parts.map((p: ClusterPartition) => {
              const mv = this.moves.get(p.partition);
              return html`<tr data-partition=${p.partition} data-owner=${p.owner ?? ""} class=${mv ? "moved" : ""}>
                <th scope="row" class="num">${p.partition}</th>
                <td class="owner">${p.owner ?? html`<span class="badge rejected">no owner</span>`}</td>
                <td>${(p.standbys ?? []).join(", ") || html`<span class="muted">none</span>`}</td>
                <td>${p.serving === null || p.serving === undefined
                  ? html`<span class="muted">unknown</span>`
                  : p.serving
                    ? html`<span class="badge applied">serving</span>`
                    : html`<span class="badge pending">not serving</span>`}</td>
                <td class="num">${cell(p.applied)}</td>
                <td class="num">${cell(p.end)}</td>
                <td class="num">${cell(p.lag)}</td>
                <td>${mv ? html`moved ${mv.from ?? "(no owner)"} → ${mv.to ?? "(no owner)"} at ${formatClock(mv.at)}` : ""}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`;
  }

  override render() {
    const v = this.view;
    const served = v ? v.partitions.filter((p) => p.owner && p.serving !== false).length : 0;
    const alive = v ? v.members.filter((m) => m.alive !== false).length : 0;
    const r = health.readiness;
    return html`
      <h1 tabindex="-1">Cluster</h1>
      <p class="lede">The instances of this consumer group and who serves each partition, refreshed every second.</p>
      ${this.unsupported
        ? html`<p class="note warn">This server has no <code>/cluster</code> route. What its own <code>/readyz</code> says:
            instance <strong>${r?.instance ?? "?"}</strong> serves partitions ${r?.serving.join(", ") || "none"}.</p>`
        : this.error
          ? html`<p class="note error" role="alert">Refresh failed: ${this.error}. ${v ? "Showing the last answer." : ""} Retrying.</p>`
          : nothing}
      ${v && (v as { mocked?: boolean }).mocked
        ? html`<p class="note info">Development mock (web/dev/dev-api.ts): built from each instance's /readyz.</p>`
        : nothing}
      ${v
        ? html`<p class="meta">
              Answered by <strong>${v.instance}</strong> · ${alive} member${alive === 1 ? "" : "s"} alive ·
              ${served} of ${v.partitions_total ?? v.partitions.length} partitions served
              ${this.refreshed ? html` · refreshed <span class="refreshed">${formatClock(this.refreshed)}</span>` : nothing}
            </p>
            ${this.renderMembers(v)} ${this.renderPartitions(v)}`
        : !this.error
          ? html`<p class="meta">Loading…</p>`
          : nothing}
    `;
  }
}
customElements.define("xb-cluster-page", ClusterPage);
