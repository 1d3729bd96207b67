import { html, nothing } from "lit";
import uPlot from "uplot";
import { LightElement } from "../lib/element";
import { formatClock, formatCount, formatRate } from "../lib/format";
import { health } from "../lib/health";
import { metricsStore, SCRAPE_MS } from "../lib/metrics-store";
import { go } from "../lib/router";

// Eight colours that stay apart for colour-blind readers and keep 4.5:1 on white (see styles.css .swatch-N).
export const PALETTE = ["#1f5fbf", "#b3261e", "#1b7f3b", "#7a3fb0", "#9c5200", "#00707a", "#545454", "#a1346e"];
const WINDOWS = [1, 5, 15];

interface ChartDef {
  id: string;
  title: string;
  unit: string;
  series: () => { label: string; values: (number | null)[] }[];
}

type Cols = (number | null)[][];

/** Charts of the service's own /metrics over the last minutes, scraped every two seconds. */
export class MetricsPage extends LightElement {
  static override properties = { params: { attribute: false } };
  declare params: URLSearchParams;

  private plots = new Map<string, { plot: uPlot; labels: string }>();
  private resize: ResizeObserver | null = null;
  private off: () => void = () => {};

  constructor() {
    super();
    this.params = new URLSearchParams();
  }

  private get windowMinutes(): number {
    const n = Number(this.params.get("window"));
    return WINDOWS.includes(n) ? n : 5;
  }

  private readonly charts: ChartDef[] = [
    {
      id: "records",
      title: "Records projected per second",
      unit: "records/s",
      series: () => [
        { label: "all results", values: metricsStore.series.records },
        { label: "applied", values: metricsStore.series.applied },
      ],
    },
    { id: "commands", title: "Commands per second", unit: "commands/s", series: () => [{ label: "commands", values: metricsStore.series.commands }] },
    {
      id: "latency",
      title: "Command latency (until projected)",
      unit: "ms",
      series: () => [
        { label: "p50", values: metricsStore.series.p50 },
        { label: "p99", values: metricsStore.series.p99 },
      ],
    },
    {
      id: "lag",
      title: "Consumer lag per partition",
      unit: "records",
      series: () =>
        [...metricsStore.series.lag.entries()]
          .sort((a, b) => Number(a[0]) - Number(b[0]))
          .map(([p, values]) => ({ label: `partition ${p}`, values })),
    },
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    metricsStore.start();
    const h = () => this.requestUpdate();
    metricsStore.addEventListener("change", h);
    this.off = () => metricsStore.removeEventListener("change", h);
    this.resize = new ResizeObserver(() => {
      for (const [id, { plot }] of this.plots) {
        const el = this.querySelector<HTMLElement>(`#plot-${id}`);
        if (el && el.clientWidth > 0 && Math.abs(plot.width - el.clientWidth) > 2) plot.setSize({ width: el.clientWidth, height: plot.height });
      }
    });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.off();
    this.resize?.disconnect();
    for (const { plot } of this.plots.values()) plot.destroy();
    this.plots.clear();
  }

  /** The window's columns: x and each series' values since now − window. */
  private columns(def: ChartDef): { labels: string[]; cols: Cols } {
    const s = metricsStore.series;
    const since = Date.now() / 1000 - this.windowMinutes * 60;
    let start = 0;
    while (start < s.t.length && s.t[start] < since) start++;
    const series = def.series();
    return { labels: series.map((x) => x.label), cols: [s.t.slice(start), ...series.map((x) => x.values.slice(start))] };
  }

  protected override updated(): void {
    for (const def of this.charts) {
      const el = this.querySelector<HTMLElement>(`#plot-${def.id}`);
      if (!el) continue;
      const { labels, cols } = this.columns(def);
      const key = labels.join("|");
      let entry = this.plots.get(def.id);
      if (entry && entry.labels !== key) {
        entry.plot.destroy();
        this.plots.delete(def.id);
        entry = undefined;
      }
      if (!entry) {
        const opts: uPlot.Options = {
          width: Math.max(el.clientWidth, 240),
          height: 220,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max !== null && max > 0 ? max * 1.1 : 1] } },
          axes: [
            { stroke: "#333", grid: { stroke: "#e4e4e4" }, ticks: { stroke: "#bbb" } },
            { stroke: "#333", grid: { stroke: "#e4e4e4" }, ticks: { stroke: "#bbb" }, size: 60 },
          ],
          series: [{}, ...labels.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: false, points: { show: false } }))],
        };
        entry = { plot: new uPlot(opts, cols as uPlot.AlignedData, el), labels: key };
        this.plots.set(def.id, entry);
        this.resize?.observe(el);
      } else {
        entry.plot.setData(cols as uPlot.AlignedData);
      }
    }
  }

  private latest(values: (number | null)[]): number | null {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  private totals() {
    const samples = metricsStore.latest;
    const records = samples.filter((s) => s.name === "xbanku_records_total");
    const commands = samples.filter((s) => s.name === "xbanku_commands_total");
    if (!records.length && !commands.length) return nothing;
    return html`<h2 id="totals-heading">Totals since the instance started</h2>
      <div class="totals">
        <div class="table-wrap" role="region" aria-label="Records by result" tabindex="0">
          <table>
            <caption>Records by result</caption>
            <thead><tr><th scope="col">Result</th><th scope="col" class="num">Records</th></tr></thead>
            <tbody>${records.map((s) => html`<tr><th scope="row">${s.labels.result ?? "?"}</th><td class="num">${formatCount(s.value)}</td></tr>`)}</tbody>
          </table>
        </div>
        <div class="table-wrap" role="region" aria-label="Commands by type and outcome" tabindex="0">
          <table>
            <caption>Commands by type and outcome</caption>
            <thead><tr><th scope="col">Type</th><th scope="col">Outcome</th><th scope="col" class="num">Commands</th></tr></thead>
            <tbody>${commands.map((s) => html`<tr><th scope="row">${s.labels.type ?? "?"}</th><td>${s.labels.outcome ?? ""}</td><td class="num">${formatCount(s.value)}</td></tr>`)}</tbody>
          </table>
        </div>
      </div>`;
  }

  override render() {
    const s = metricsStore.series;
    const instance = health.readiness?.instance;
    return html`
      <h1 tabindex="-1">Metrics</h1>
      <p class="lede">
        From ${instance ? html`<strong>${instance}</strong>'s` : "this instance's"} own <code>/metrics</code>, scraped every
        ${SCRAPE_MS / 1000} s while the console is open. Rates and latency percentiles are computed between two scrapes.
      </p>
      <div class="toolbar">
        <div class="field">
          <label for="metrics-window">Window</label>
          <select id="metrics-window" @change=${(e: Event) => go("/metrics", { window: (e.target as HTMLSelectElement).value })}>
            ${WINDOWS.map((m) => html`<option value=${m} ?selected=${m === this.windowMinutes}>last ${m} minute${m === 1 ? "" : "s"}</option>`)}
          </select>
        </div>
        <p class="meta">${s.t.length} scrape${s.t.length === 1 ? "" : "s"}${metricsStore.lastScrape ? `, last at ${formatClock(new Date(metricsStore.lastScrape))}` : ""}</p>
      </div>
      ${metricsStore.error ? html`<p class="note error" role="alert">Could not read /metrics: ${metricsStore.error}</p>` : nothing}
      <div class="charts">
        ${this.charts.map((def) => {
          const series = def.series();
          const latest = series.map((x, i) => ({ label: x.label, value: this.latest(x.values), i }));
          const summary = latest.map((l) => `${l.label} ${formatRate(l.value)} ${def.unit}`).join(", ");
          return html`<figure class="chart card" data-chart=${def.id}>
            <figcaption><h2 class="chart-title">${def.title}</h2></figcaption>
            <div id="plot-${def.id}" class="plot" role="img" aria-label="${def.title} over the last ${this.windowMinutes} minutes. Latest: ${summary || "no data yet"}."></div>
            <ul class="legend">
              ${latest.map(
                (l) => html`<li><span class="swatch swatch-${l.i % PALETTE.length}" aria-hidden="true"></span>${l.label}:
                  <strong class="latest">${formatRate(l.value)}</strong> ${def.unit}</li>`,
              )}
              ${latest.length === 0 ? html`<li class="muted">No series yet.</li>` : nothing}
            </ul>
          </figure>`;
        })}
      </div>
      ${this.totals()}
    `;
  }
}
customElements.define("xb-metrics-page", MetricsPage);
