// Scrapes the service's own /metrics every SCRAPE_MS from the console's start and keeps the
// last KEEP_MS of derived series for the metrics page's charts.
import { ApiError, get } from "./api";
import { buckets, byLabel, parseMetrics, quantileBetween, rate, sum, type Sample } from "./prom";

export const SCRAPE_MS = 2000;
export const KEEP_MS = 15 * 60 * 1000;

export interface Series {
  t: number[]; // seconds since the epoch (uPlot's x)
  records: (number | null)[]; // every record the projector consumed (all results) per second
  applied: (number | null)[]; // records applied per second
  commands: (number | null)[]; // commands answered per second
  p50: (number | null)[]; // command latency (stage="projected"), milliseconds
  p99: (number | null)[];
  lag: Map<string, (number | null)[]>; // records left per partition
}

const LATENCY = "xbanku_command_latency_seconds";

export class MetricsStore extends EventTarget {
  series: Series = { t: [], records: [], applied: [], commands: [], p50: [], p99: [], lag: new Map() };
  latest: Sample[] = [];
  error = "";
  lastScrape = 0;
  private prev: { at: number; samples: Sample[]; hist: Map<number, number> } | null = null;
  private timer = 0;
  private running = false;

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.scrape();
    this.timer = window.setInterval(() => void this.scrape(), SCRAPE_MS);
  }

  stop(): void {
    this.running = false;
    clearInterval(this.timer);
  }

  async scrape(): Promise<void> {
    let text: string;
    try {
      text = String((await get<string>("/metrics")).body ?? "");
    } catch (e) {
      this.error = e instanceof ApiError ? `${e.status || ""} ${e.message}`.trim() : String(e);
      this.dispatchEvent(new Event("change"));
      return;
    }
    this.error = "";
    const at = Date.now();
    this.ingest(at, parseMetrics(text));
  }

  /** Adds one scrape (exposed for tests). */
  ingest(at: number, samples: Sample[]): void {
    const latencyStage = samples.some((s) => s.name === `${LATENCY}_bucket` && s.labels.stage === "projected")
      ? (l: Record<string, string>) => l.stage === "projected"
      : () => true;
    const hist = buckets(samples, LATENCY, latencyStage);
    const s = this.series;
    const prev = this.prev;
    const seconds = prev ? (at - prev.at) / 1000 : 0;
    const r = (name: string, where?: (l: Record<string, string>) => boolean) =>
      prev ? rate(sum(prev.samples, name, where), sum(samples, name, where), seconds) : null;
    s.t.push(at / 1000);
    s.records.push(r("xbanku_records_total"));
    s.applied.push(r("xbanku_records_total", (l) => l.result === "applied"));
    s.commands.push(r("xbanku_commands_total"));
    const p50 = prev ? quantileBetween(prev.hist, hist, 0.5) : null;
    const p99 = prev ? quantileBetween(prev.hist, hist, 0.99) : null;
    s.p50.push(p50 === null ? null : p50 * 1000);
    s.p99.push(p99 === null ? null : p99 * 1000);
    const lag = byLabel(samples, "xbanku_consumer_lag", "partition");
    const n = s.t.length;
    for (const [p, v] of lag) {
      if (!s.lag.has(p)) s.lag.set(p, new Array<number | null>(n - 1).fill(null));
      s.lag.get(p)!.push(v);
    }
    for (const [p, arr] of s.lag) if (!lag.has(p)) arr.push(null);
    // Drop what is older than KEEP_MS.
    const cutoff = at / 1000 - KEEP_MS / 1000;
    let drop = 0;
    while (drop < s.t.length && s.t[drop] < cutoff) drop++;
    if (drop > 0) {
      for (const arr of [s.t, s.records, s.applied, s.commands, s.p50, s.p99, ...s.lag.values()]) arr.splice(0, drop);
    }
    this.prev = { at, samples, hist };
    this.latest = samples;
    this.lastScrape = at;
    this.dispatchEvent(new Event("change"));
  }
}

export const metricsStore = new MetricsStore();
