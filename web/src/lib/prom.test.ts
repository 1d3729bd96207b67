import { describe, expect, it } from "vitest";
import { buckets, byLabel, parseLine, parseMetrics, quantileBetween, rate, sum } from "./prom";

const SCRAPE = `# HELP xbanku_records_total Records by result
# TYPE xbanku_records_total counter
xbanku_records_total{result="applied"} 100
xbanku_records_total{result="rejected"} 5
xbanku_commands_total{type="deposit",outcome="applied"} 7
xbanku_consumer_lag{partition="0"} 3
xbanku_consumer_lag{partition="1"} 0
xbanku_command_latency_seconds_bucket{stage="ack",le="0.001"} 99
xbanku_command_latency_seconds_bucket{stage="projected",le="0.001"} 10
xbanku_command_latency_seconds_bucket{stage="projected",le="0.01"} 90
xbanku_command_latency_seconds_bucket{stage="projected",le="0.1"} 100
xbanku_command_latency_seconds_bucket{stage="projected",le="+Inf"} 100
some_future_series{with="a \\"quoted\\" label",and="x"} 1.5e3 1700000000000
garbage line here
`;

describe("parseMetrics", () => {
  const samples = parseMetrics(SCRAPE);
  it("reads series, labels and values, and skips what it does not understand", () => {
    expect(sum(samples, "xbanku_records_total")).toBe(105);
    expect(sum(samples, "xbanku_records_total", (l) => l.result === "applied")).toBe(100);
    expect(sum(samples, "missing_series")).toBeNull();
    expect(byLabel(samples, "xbanku_consumer_lag", "partition")).toEqual(new Map([["0", 3], ["1", 0]]));
    expect(parseLine('some_future_series{with="a \\"quoted\\" label",and="x"} 1.5e3 1700000000000')).toEqual({
      name: "some_future_series",
      labels: { with: 'a "quoted" label', and: "x" },
      value: 1500,
    });
    expect(parseLine("garbage line here")).toBeNull();
    expect(parseLine("x +Inf")?.value).toBe(Infinity);
  });
  it("selects one histogram's buckets", () => {
    const b = buckets(samples, "xbanku_command_latency_seconds", (l) => l.stage === "projected");
    expect([...b.entries()]).toEqual([[0.001, 10], [0.01, 90], [0.1, 100], [Infinity, 100]]);
  });
});

describe("rates and quantiles between scrapes", () => {
  it("turns counters into per-second rates, counting a reset from zero", () => {
    expect(rate(100, 150, 2)).toBe(25);
    expect(rate(100, 30, 2)).toBe(15);
    expect(rate(null, 30, 2)).toBeNull();
  });
  it("interpolates inside the bucket that holds the rank, on the deltas only", () => {
    const prev = new Map([[0.001, 10], [0.01, 10], [0.1, 10], [Infinity, 10]]);
    const cur = new Map([[0.001, 10], [0.01, 90], [0.1, 110], [Infinity, 110]]);
    // 100 new observations: 80 in (0.001, 0.01], 20 in (0.01, 0.1].
    expect(quantileBetween(prev, cur, 0.5)).toBeCloseTo(0.001 + 0.009 * (50 / 80));
    expect(quantileBetween(prev, cur, 0.99)).toBeCloseTo(0.01 + 0.09 * (19 / 20));
    expect(quantileBetween(cur, cur, 0.5)).toBeNull(); // nothing observed in between
    expect(quantileBetween(null, cur, 0.05)).toBeCloseTo(0.001 * (5.5 / 10));
  });
  it("answers the largest finite bound for ranks in the +Inf bucket", () => {
    const cur = new Map([[0.1, 0], [Infinity, 4]]);
    expect(quantileBetween(null, cur, 0.99)).toBe(0.1);
  });
});
