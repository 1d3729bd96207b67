#!/usr/bin/env python3
"""scripts/bench.sh's figures: tables, bench/results/*.json and bench/results/bench.png.
  report.py latest --records N ... (see scripts/bench.sh)  -> latest.json, table with goals
  report.py scale ROWS.jsonl                              -> scale.json, table
  report.py plot                                          -> bench.png from both JSON files
Each ratio is "xbanku's figure over its limit measured in the same run", beside issue 16's goal."""
import argparse, json, os, subprocess, sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# name: (goal, "higher" or "lower" is better)
GOALS = {
    "projector steady ÷ raw consume": (0.3, "higher"),
    "10M catch-up ÷ 1M catch-up": (0.8, "higher"),
    "GET ÷ redis-benchmark GET": (1.0, "higher"),
    "read-your-writes ingest ÷ projector": (0.5, "higher"),
    "wait=false ingest ÷ raw produce": (0.6, "higher"),
    "p99 at 1,000/s ÷ raw p99": (1.2, "lower"),
}


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def machine() -> dict:
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"cores": os.cpu_count(), "model": model}


def latest(a: argparse.Namespace) -> None:
    produce, consume = json.loads(a.produce), json.loads(a.consume)
    plain, mirror = json.loads(a.plain), json.loads(a.mirror)
    ws, ws_nowait = json.loads(a.ws), json.loads(a.ws_nowait)
    lat, raw_lat = json.loads(a.ws_latency), json.loads(a.raw_latency)
    http, http_nowait = float(a.http), float(a.http_nowait)
    ryw = max(http, ws["commands_per_s"])
    nowait = max(http_nowait, ws_nowait["commands_per_s"])
    r = {
        "commit": commit(), "machine": machine(), "records": a.records, "accounts": a.accounts,
        "raw_produce_per_s": produce["records_per_s"], "raw_consume_per_s": consume["records_per_s"],
        # start to ready: launch, group join, catch-up; steady: first record to last
        "projector_per_s": round(a.records / plain["start_to_ready_s"]),
        "projector_steady_per_s": plain["steady_per_s"],
        "projector_mirror_per_s": round(a.records / mirror["start_to_ready_s"]),
        "projector_mirror_steady_per_s": mirror["steady_per_s"],
        "ws_ingest_per_s": ws["commands_per_s"], "ws_ingest_nowait_per_s": ws_nowait["commands_per_s"],
        "http_ingest_per_s": http, "http_ingest_nowait_per_s": http_nowait,
        "latency_at_1000_per_s_ms": {k: lat[k] for k in ("p50_ms", "p99_ms", "p999_ms")},
        "raw_latency_at_1000_per_s_ms": {k: raw_lat[k] for k in ("p50_ms", "p99_ms", "p999_ms")},
        "get_per_s": float(a.get), "redis_get_per_s": float(a.redis_get),
        "peak_rss_mb_after_catchup": plain["peak_rss_mb"], "restart_to_ready_s": float(a.restart),
    }
    r["ratios"] = {
        "projector steady ÷ raw consume": round(r["projector_steady_per_s"] / r["raw_consume_per_s"], 3),
        "GET ÷ redis-benchmark GET": round(r["get_per_s"] / r["redis_get_per_s"], 3),
        "read-your-writes ingest ÷ projector": round(ryw / r["projector_steady_per_s"], 3),
        "wait=false ingest ÷ raw produce": round(nowait / r["raw_produce_per_s"], 3),
        "p99 at 1,000/s ÷ raw p99": round(lat["p99_ms"] / raw_lat["p99_ms"], 3),
    }
    json.dump(r, open(RESULTS / "latest.json", "w"), indent=2)
    rows = [
        ("projector, start to ready", f"{r['projector_per_s']:,} rec/s", ""),
        ("projector, steady (first to last record)", f"{r['projector_steady_per_s']:,} rec/s",
         f"raw consume {r['raw_consume_per_s']:,.0f}"),
        ("  with the Redis mirror, steady", f"{r['projector_mirror_steady_per_s']:,} rec/s", ""),
        ("ingest HTTP (wrk -c256, 1,000 accounts)", f"{http:,.0f} cmd/s", "read-your-writes"),
        ("  wait=false", f"{http_nowait:,.0f} cmd/s", f"raw produce {r['raw_produce_per_s']:,.0f}"),
        ("ingest WebSocket (256 in flight)", f"{ws['commands_per_s']:,} cmd/s", "read-your-writes"),
        ("  wait=false", f"{ws_nowait['commands_per_s']:,} cmd/s", ""),
        ("latency at 1,000 cmd/s p50/p99/p99.9", "{p50_ms}/{p99_ms}/{p999_ms} ms".format(**lat),
         "raw {p50_ms}/{p99_ms}/{p999_ms}".format(**raw_lat)),
        ("GET /accounts/{id} (wrk -c64)", f"{r['get_per_s']:,.0f} req/s", f"redis-benchmark {r['redis_get_per_s']:,.0f}"),
        ("peak RSS after catch-up", f"{r['peak_rss_mb_after_catchup']} MB", ""),
        ("restart to ready (full store)", f"{r['restart_to_ready_s']} s", ""),
    ]
    print(f"\n{a.records:,} records over {a.accounts:,} accounts")
    print(f"{'figure':44} {'xbanku':>16}  {'beside':>28}")
    for name, value, limit in rows:
        print(f"{name:44} {value:>16}  {limit:>28}")
    print_ratios(r["ratios"])
    print(f"\nwritten to {RESULTS / 'latest.json'}")


def print_ratios(ratios: dict) -> None:
    print(f"\n{'ratio':40} {'now':>7} {'goal':>8}")
    for name, value in ratios.items():
        goal, better = GOALS[name]
        met = value >= goal if better == "higher" else value <= goal
        print(f"{name:40} {value:>7} {('≥ ' if better == 'higher' else '≤ ') + str(goal):>8}  {'met' if met else 'not met'}")


def scale(a: argparse.Namespace) -> None:
    rows = [json.loads(l) for l in open(a.rows) if l.strip()]
    out = {"commit": commit(), "machine": machine(), "rows": rows}
    by = {r["records"]: r for r in rows}
    if 1_000_000 in by and 10_000_000 in by:
        out["ratios"] = {"10M catch-up ÷ 1M catch-up":
                         round(by[10_000_000]["steady_per_s"] / by[1_000_000]["steady_per_s"], 3)}
    json.dump(out, open(RESULTS / "scale.json", "w"), indent=2)
    print(f"\n{'records':>11} {'accounts':>10} {'steady rec/s':>13} {'start→ready':>12} {'follow-ups':>11} "
          f"{'peak RSS':>9} {'restart':>8} {'store':>8}")
    for r in rows:
        print(f"{r['records']:>11,} {r['accounts']:>10,} {r['steady_per_s']:>13,} {r['start_to_ready_s']:>10} s "
              f"{r['follow_ups_after_ready_s']:>9} s {r['peak_rss_mb']:>6} MB {r['restart_to_ready_s']:>6} s "
              f"{r['store_mb']:>5} MB")
    print("follow-ups: after ready, the seconds until the credits the catch-up's transfers sent were folded too")
    if "ratios" in out:
        print_ratios(out["ratios"])
    print(f"\nwritten to {RESULTS / 'scale.json'}")


def plot(_: argparse.Namespace) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    scale_file = RESULTS / "scale.json"
    if scale_file.exists():
        rows = json.load(open(scale_file))["rows"]
        x = [r["records"] for r in rows]
        left.plot(x, [r["steady_per_s"] for r in rows], "o-", color="tab:blue", label="catch-up, records/s")
        left.set_xscale("log")
        left.set_xlabel("records in the topic (accounts: records / 10, at most 1M)")
        left.set_ylabel("records/s (steady)", color="tab:blue")
        left.set_ylim(bottom=0)
        rss = left.twinx()
        rss.plot(x, [r["peak_rss_mb"] for r in rows], "s--", color="tab:red", label="peak RSS, MB")
        rss.axhline(300, color="tab:red", linewidth=0.8, linestyle=":")
        rss.set_ylabel("peak RSS, MB (goal ≤ 300 at 1M accounts)", color="tab:red")
        rss.set_ylim(bottom=0)
        left.set_title("how the catch-up grows with the store")
    else:
        left.text(0.5, 0.5, "no scale.json yet:\nscripts/bench.sh --scale", ha="center", va="center")
        left.set_axis_off()
    ratios = {}
    for name in ("latest.json", "scale.json"):
        if (RESULTS / name).exists():
            ratios.update(json.load(open(RESULTS / name)).get("ratios", {}))
    names = [n for n in GOALS if n in ratios]
    y = range(len(names))
    right.barh(y, [ratios[n] for n in names], color=["tab:green" if (ratios[n] >= GOALS[n][0]) == (GOALS[n][1] == "higher")
                                                   else "tab:orange" for n in names])
    right.scatter([GOALS[n][0] for n in names], y, marker="|", s=400, color="black", label="goal", zorder=3)
    right.set_yticks(list(y), names)
    right.invert_yaxis()
    right.set_xlabel("ratio (figure ÷ its limit, same run); black: the goal")
    right.set_title("each ratio beside its goal")
    fig.tight_layout()
    fig.savefig(RESULTS / "bench.png", dpi=100)
    print(f"drawn to {RESULTS / 'bench.png'}")


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("latest")
    for name in ("produce", "consume", "plain", "mirror", "ws", "ws-nowait", "ws-latency", "raw-latency",
                 "http", "http-nowait", "get", "redis-get", "restart"):
        l.add_argument("--" + name, required=True)
    l.add_argument("--records", type=int, required=True)
    l.add_argument("--accounts", type=int, required=True)
    s = sub.add_parser("scale")
    s.add_argument("rows")
    sub.add_parser("plot")
    a = p.parse_args()
    RESULTS.mkdir(exist_ok=True)
    {"latest": latest, "scale": scale, "plot": plot}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
