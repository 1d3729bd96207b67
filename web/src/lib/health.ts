// /readyz, polled: which instance serves the console, and while it replays the log after a
// start, how many records each partition has left (the replay banner shows the progress).
import { ApiError, get, type Readiness } from "./api";

export class Health extends EventTarget {
  readiness: Readiness | null = null;
  error = "";
  /** The most records left seen per partition since the replay began (the progress bars' max). */
  peak = new Map<string, number>();
  private timer = 0;

  start(): void {
    void this.poll();
  }

  get replaying(): boolean {
    return this.readiness !== null && !this.readiness.ready;
  }

  async poll(): Promise<void> {
    clearTimeout(this.timer);
    try {
      this.readiness = normalize((await get<Readiness>("/readyz")).body);
      this.error = "";
    } catch (e) {
      if (e instanceof ApiError && e.status === 503 && e.body && typeof e.body === "object") {
        this.readiness = normalize(e.body as Readiness); // not ready: the body says how far along
        this.error = "";
      } else if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        this.error = ""; // the authentication banner says it
      } else {
        this.error = e instanceof ApiError ? e.message : String(e);
      }
    }
    const r = this.readiness;
    if (r && !r.ready) {
      for (const [p, left] of Object.entries(r.lag)) this.peak.set(p, Math.max(this.peak.get(p) ?? 0, left));
    } else if (r?.ready) {
      this.peak.clear();
    }
    this.dispatchEvent(new Event("change"));
    this.timer = window.setTimeout(() => void this.poll(), r?.ready && !this.error ? 5000 : 1000);
  }
}

function normalize(r: Readiness): Readiness {
  return {
    ready: Boolean(r?.ready),
    instance: typeof r?.instance === "string" ? r.instance : "",
    serving: Array.isArray(r?.serving) ? r.serving : [],
    lag: r?.lag && typeof r.lag === "object" ? r.lag : {},
  };
}

export const health = new Health();
