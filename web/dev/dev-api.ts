// Development only (never bundled): `npm run dev` / `npm run preview` serve the console and
// proxy the API to a running xbanku, so the console can be worked on without rebuilding the
// binary. Routes an older binary lacks are mocked here, from what it does have:
//   GET /cluster  from each instance's /readyz (XBANKU_DEV_CLUSTER lists them)
//   GET /dlq      from the <topic>.dlq topic read with kcat (XBANKU_DEV_BROKERS, XBANKU_DEV_TOPIC)
// Environment:
//   XBANKU_DEV_UPSTREAM  the instance to proxy to (default http://127.0.0.1:18181)
//   XBANKU_DEV_CLUSTER   comma-separated instance URLs for the /cluster mock (default: the upstream)
//   XBANKU_DEV_MOCK=0    proxy /cluster and /dlq too (a binary that has them)
import { execFile } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Connect, Plugin, ProxyOptions } from "vite";

const upstream = process.env.XBANKU_DEV_UPSTREAM ?? "http://127.0.0.1:18181";
const mock = process.env.XBANKU_DEV_MOCK !== "0";
const cluster = (process.env.XBANKU_DEV_CLUSTER ?? upstream).split(",").map((s) => s.trim()).filter(Boolean);

function proxies(): Record<string, ProxyOptions> {
  const api = ["accounts", "transfers", "commands", "readyz", "healthz", "metrics", "openapi\\.json", ...(mock ? [] : ["cluster", "dlq"])];
  return {
    [`^/(${api.join("|")})(/|\\?|$)`]: { target: upstream, changeOrigin: false },
    "/ws": { target: upstream.replace(/^http/, "ws"), ws: true },
  };
}

interface Readyz {
  ready: boolean;
  instance: string;
  serving: number[];
  lag: Record<string, number>;
}
const names = new Map<string, string>(); // url → the instance name it last answered with
const known = new Set<number>(); // every partition any instance has reported

async function readyz(url: string): Promise<Readyz | null> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(700) });
    const body = (await res.json()) as Readyz;
    names.set(url, body.instance);
    return body;
  } catch {
    return null;
  }
}

async function clusterView() {
  const answers = await Promise.all(cluster.map(async (url) => ({ url, r: await readyz(url) })));
  const members = answers.map(({ url, r }, i) => ({
    instance: r?.instance ?? names.get(url) ?? url,
    url,
    partitions: r?.serving ?? [],
    standbys: [] as number[],
    self: i === 0,
    alive: r !== null,
  }));
  for (const { r } of answers) if (r) Object.keys(r.lag).forEach((p) => known.add(Number(p)));
  const ids = known;
  const partitions = [...ids].sort((a, b) => a - b).map((partition) => {
    const owner = answers.find(({ r }) => r?.serving.includes(partition));
    return {
      partition,
      owner: owner?.r?.instance ?? null,
      standbys: [] as string[],
      serving: Boolean(owner?.r?.ready),
      applied: null,
      end: null,
      lag: owner?.r?.lag[String(partition)] ?? null,
    };
  });
  return { instance: members[0]?.instance ?? "?", partitions_total: partitions.length, members, partitions, mocked: true };
}

function kcat(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("kcat", args, { timeout: 5000, maxBuffer: 64 << 20 }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

async function deadLetters(query: URLSearchParams) {
  const brokers = process.env.XBANKU_DEV_BROKERS;
  const topic = process.env.XBANKU_DEV_TOPIC;
  const limit = Math.min(Math.max(Number(query.get("limit")) || 50, 1), 1000);
  const after = query.get("after");
  if (!brokers || !topic) {
    return {
      letters: [
        {
          offset: 0,
          origin: { topic: "sample", partition: 0, offset: 7 },
          reason: "malformed_event: not JSON (a sample: set XBANKU_DEV_BROKERS and XBANKU_DEV_TOPIC)",
          key: "sample-key",
          value: "{not json",
        },
      ],
      next: null,
    };
  }
  const start = after === null ? "beginning" : String(Number(after) + 1);
  const out = await kcat(["-C", "-q", "-b", brokers, "-t", `${topic}.dlq`, "-p", "0", "-o", start, "-c", String(limit), "-e", "-J"]).catch(() => "");
  const letters = out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const m = JSON.parse(line) as { offset: number; key: string | null; payload: string | null; headers?: string[] };
      const h = new Map<string, string>();
      for (let i = 0; i + 1 < (m.headers?.length ?? 0); i += 2) h.set(m.headers![i], m.headers![i + 1]);
      return {
        offset: m.offset,
        origin: {
          topic: h.get("xbanku-origin-topic"),
          partition: Number(h.get("xbanku-origin-partition")),
          offset: Number(h.get("xbanku-origin-offset")),
        },
        reason: h.get("xbanku-reason") ?? "",
        key: m.key,
        value: m.payload,
        ...(h.has("xbanku-truncated-from") ? { truncated_from: Number(h.get("xbanku-truncated-from")) } : {}),
      };
    });
  return { letters, next: letters.length === limit ? letters[letters.length - 1].offset : null };
}

function middleware(): Connect.NextHandleFunction {
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname === "/cluster" ? clusterView() : url.pathname === "/dlq" ? deadLetters(url.searchParams) : null;
    if (!mock || req.method !== "GET" || route === null) return next();
    route.then(
      (body) => {
        res.setHeader("Content-Type", "application/json");
        res.setHeader("X-Mocked-By", "web/dev/dev-api.ts");
        res.end(JSON.stringify(body));
      },
      (e: unknown) => {
        res.statusCode = 500;
        res.setHeader("Content-Type", "application/json");
        res.end(JSON.stringify({ error: { code: "mock_failed", message: String(e) } }));
      },
    );
  };
}

export function devApi(): Plugin {
  return {
    name: "xbanku-dev-api",
    config: () => ({ server: { proxy: proxies() }, preview: { proxy: proxies() } }),
    configureServer: (server) => void server.middlewares.use(middleware()),
    configurePreviewServer: (server) => void server.middlewares.use(middleware()),
  };
}
