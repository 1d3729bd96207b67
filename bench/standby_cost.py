#!/usr/bin/env python3
"""What standby replicas cost (issue 15): two xbanku instances catch up on the same pre-produced
topic, once with --standby-replicas 0 and once with 1, each run on fresh views and its own
consumer group. Measured per run, from launch until both serve their partitions (and, with
standbys, shadow the other's at the log's end):
  seconds      wall time to that point
  cpu_s        user + system CPU of each process (/proc/<pid>/stat)
  folded       records folded by each (as owner + as standby)
  per_s        records folded per second per instance (folded / seconds)
Prints one JSON object; loopback only, bounded in time.
  standby_cost.py --bin build --records 300000 [--accounts 30000] [--brokers 127.0.0.1:9092]
Only the standard library."""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def metric(port: int, name: str) -> float:
    _, body = get(port, "/metrics")
    return sum(float(l.split()[-1]) for l in body.splitlines() if l.startswith(name + " ") or l.startswith(name + "{"))


def done(port: int, standbys: int, partitions: int) -> bool:
    status, body = get(port, "/readyz")
    if status != 200:
        return False
    r = json.loads(body)
    if standbys == 0:
        return True
    lags = r.get("standby_lag", {})
    return (len(r["serving"]) + len(r.get("standby", [])) == partitions
            and len(lags) == len(r.get("standby", []))
            and all(v == 0 for v in lags.values()))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(binary: str, brokers: str, topic: str, standbys: int, partitions: int, work: str,
        limit_s: float) -> dict:
    group = f"{topic}-cost-{standbys}"
    procs, ports = [], []
    t0 = time.time()
    for i in range(2):
        port = free_port()
        data = os.path.join(work, f"n{standbys}-{i}")
        args = [binary, "--act=serve", "--brokers", brokers, "--topic", topic, "--group", group,
                "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--instance-id", f"cost-{i}",
                "--standby-replicas", str(standbys), "--log-level", "warn"]
        log = open(os.path.join(work, f"n{standbys}-{i}.log"), "w")
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        ports.append(port)
    try:
        while not all(done(p, standbys, partitions) for p in ports):
            if time.time() - t0 > limit_s:
                raise SystemExit(f"standby_cost: not caught up within {limit_s} s (N={standbys})")
            time.sleep(0.05)
        seconds = time.time() - t0
        cpu = [cpu_seconds(p.pid) for p in procs]
        folded = [metric(p, "xbanku_records_consumed_total") + metric(p, "xbanku_standby_records_total")
                  for p in ports]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    return {"standby_replicas": standbys, "seconds": round(seconds, 2),
            "cpu_s": [round(c, 2) for c in cpu], "folded": [int(f) for f in folded],
            "per_s": [round(f / seconds) for f in folded]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build")
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--accounts", type=int, default=30000)
    ap.add_argument("--brokers", default="127.0.0.1:9092")
    ap.add_argument("--limit-s", type=float, default=600)
    a = ap.parse_args()
    topic = f"xbanku-standby-cost-{os.getpid()}-{int(time.time())}"
    produced = subprocess.run(
        [os.path.join(a.bin, "xbanku_kafka_baseline"), "produce", "--brokers", a.brokers,
         "--topic", topic, "--records", str(a.records), "--accounts", str(a.accounts)],
        check=True, capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="xbanku-standby-cost-")
    try:
        runs = [run(os.path.join(a.bin, "xbanku"), a.brokers, topic, n, 6, work, a.limit_s)
                for n in (0, 1)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base, with_standby = runs
    print(json.dumps({"records": a.records, "accounts": a.accounts, "produce": json.loads(produced),
                      "runs": runs,
                      "cpu_ratio": round(sum(with_standby["cpu_s"]) / sum(base["cpu_s"]), 2),
                      "time_ratio": round(with_standby["seconds"] / base["seconds"], 2)}))


if __name__ == "__main__":
    sys.exit(main())
