#!/usr/bin/env python3
"""Watches a catching-up xbanku for scripts/bench.sh and reports both projector figures:
  catchup_watch.py PORT RECORDS STARTED_AT
  catchup_watch.py quiet PORT    waits until nothing is owed (see quiet())
STARTED_AT is the process's launch time (time.time()). Polls /metrics every 20 ms until /readyz
answers 200 and prints one JSON object:
  start_to_ready_s   launch to ready (start-up, group join and catch-up: what an operator waits)
  steady_per_s       records/s from the first poll that saw a record consumed to the first that
                     saw the last one, so the fixed start-up cost does not hide in small runs
  first_record_s     launch to the first record seen consumed
Only the standard library: it runs with any python3."""
import json, sys, time, urllib.request, urllib.error


def consumed(port: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("xbanku_records_consumed_total"):
                return float(line.split()[-1])
    return 0.0


def ready(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def gauges(port: str) -> tuple[float, float]:
    """(follow-ups not yet in Kafka, records between the view and the log's end)."""
    pending = lag = 0.0
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("xbanku_outbox_pending"):
                pending += float(line.split()[-1])
            elif line.startswith("xbanku_consumer_lag"):
                lag += float(line.split()[-1])
    return pending, lag


def quiet(port: str) -> None:
    """Ready is "caught up with the log's end as of assignment"; the catch-up's cross-partition
    transfers go on producing follow-ups (credits) afterwards, which are folded in turn. Waits
    until no follow-up is pending and no record is unfolded, on two readings of the gauges
    (updated every second) 1.5 s apart, and prints the seconds that took."""
    started, calm = time.time(), 0
    while time.time() - started < 1800:
        pending, lag = gauges(port)
        calm = calm + 1 if pending == 0 and lag == 0 else 0
        if calm == 2:
            print(round(time.time() - started, 3))
            return
        time.sleep(1.5)
    sys.exit(f"catchup_watch: still owing follow-ups after 30 minutes on port {port}")


def main() -> None:
    if sys.argv[1] == "quiet":
        return quiet(sys.argv[2])
    port, records, started = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    first = last = None  # (time, count)
    deadline = time.time() + 3600
    while time.time() < deadline:
        try:
            n, t = consumed(port), time.time()
        except (urllib.error.URLError, OSError):
            time.sleep(0.02)
            continue
        if n > 0 and first is None:
            first = (t, n)
        if n >= records and last is None:
            last = (t, n)
        if last is not None and ready(port):
            break
        time.sleep(0.02)
    else:
        sys.exit(f"catchup_watch: not ready within an hour on port {port}")
    ready_at = time.time()
    steady = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else float("nan")
    print(json.dumps({"start_to_ready_s": round(ready_at - started, 3), "steady_per_s": round(steady),
                      "first_record_s": round(first[0] - started, 3)}))


main()
