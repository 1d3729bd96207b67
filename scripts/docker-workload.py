#!/usr/bin/env python3
"""The workload of scripts/docker-test.sh, through the replicas' published ports (stdlib only).

Creates accounts (every partition gets some), deposits, then runs deposits and transfers from
a few client threads against every replica while the driver kills one replica and starts it
again (shell commands given by the caller). Each command carries an Idempotency-Key and is
retried with the same key, through any replica, until it has a final answer (2xx, or 409
insufficient_funds), so the expected ledger is exact: at the end every account's balance,
read through every replica, must equal what the acknowledged commands make it.

Prints what it measured as one JSON object on stdout (progress goes to stderr); exits 1 when
an acknowledged command was lost, replicas disagree, or a phase does not complete in time.
"""
import argparse
import http.client
import json
import random
import socket
import subprocess
import sys
import threading
import time
import uuid

INITIAL = 1_000_000


def log(msg):
    print(f"docker-workload: {msg}", file=sys.stderr, flush=True)


class Connection(http.client.HTTPConnection):
    """Connects within a second: a port whose container just died can swallow SYNs."""

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=1.0)
        self.sock.settimeout(self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Cluster:
    def __init__(self, ports, token, timeout):
        self.ports = ports
        self.token = token
        self.timeout = timeout
        self.down_until = {p: 0.0 for p in ports}
        self.lock = threading.Lock()
        self.local = threading.local()

    def conn(self, port):
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        c = conns.get(port)
        if c is None:
            c = conns[port] = Connection("127.0.0.1", port, timeout=self.timeout)
        return c

    def drop(self, port):
        c = getattr(self.local, "conns", {}).pop(port, None)
        if c is not None:
            c.close()

    def request(self, port, method, path, body=None, headers=None):
        """(status, json-or-None, headers) or None when the replica cannot be reached."""
        h = {"content-type": "application/json"}
        if self.token:
            h["authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        data = None if body is None else json.dumps(body)
        for attempt in range(2):  # a kept-alive connection the server closed: one fresh try
            c = self.conn(port)
            try:
                c.request(method, path, body=data, headers=h)
                r = c.getresponse()
                raw = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.drop(port)
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                return r.status, payload, {k.lower(): v for k, v in r.getheaders()}
            except (OSError, http.client.HTTPException):
                self.drop(port)
                if attempt == 1:
                    return None
        return None

    def mark_down(self, port, seconds=2.0):
        with self.lock:
            self.down_until[port] = max(self.down_until[port], time.monotonic() + seconds)

    def mark_up(self, port):
        with self.lock:
            self.down_until[port] = 0.0

    def pick(self, rnd):
        now = time.monotonic()
        with self.lock:
            up = [p for p in self.ports if self.down_until[p] <= now]
        return rnd.choice(up or self.ports)


class Ledger:
    """What acknowledged commands make the balances; acknowledgement times per partition."""

    def __init__(self):
        self.lock = threading.Lock()
        self.balance = {}
        self.partition = {}
        self.acks = []  # (time acknowledged, partition, latency from first send)
        self.counts = {"deposit": 0, "transfer": 0, "rejected": 0, "retries": 0}
        self.unexpected = []
        self.deposited = 0
        self.retry_causes = {}

    def note(self, cause):
        with self.lock:
            self.retry_causes[cause] = self.retry_causes.get(cause, 0) + 1


def command(cluster, rnd, method, path, body, key, deadline_s, ledger):
    """Sends until a final answer: (status, payload, first send time, answer time) or None."""
    first = time.monotonic()
    attempt = 0
    while time.monotonic() - first < deadline_s:
        port = cluster.pick(rnd)
        r = cluster.request(port, method, path, body, {"idempotency-key": key})
        if r is None:
            cluster.mark_down(port)
            ledger.note("unreachable")
        else:
            status, payload, _ = r
            if 200 <= status < 300 and status != 202 or status in (400, 404, 409, 422):
                return status, payload, first, time.monotonic()
            ledger.note(str(status))
            # 503 (log unreachable, no owner, shutting down) or 504 (not yet projected): retry
            time.sleep(0.05 if status == 504 else 0.2)
        attempt += 1
        if attempt > 1:
            with ledger.lock:
                ledger.counts["retries"] += 1
    return None


def setup_accounts(cluster, ledger, run, partitions, per_partition, deadline_s):
    rnd = random.Random(1)
    i = 0
    while True:
        have = {}
        for acc, p in ledger.partition.items():
            have[p] = have.get(p, 0) + 1
        if len(have) == partitions and min(have.values()) >= per_partition:
            break
        if i >= partitions * per_partition * 6:
            raise SystemExit(f"could not place {per_partition} accounts in each of {partitions} partitions")
        key = f"{run}-create-{i}"
        i += 1
        r = command(cluster, rnd, "POST", "/accounts", {"name": f"docker test {i}"}, key, deadline_s, ledger)
        if r is None or r[0] != 201:
            raise SystemExit(f"create failed: {r}")
        acc = r[1]["id"]
        q = cluster.request(cluster.ports[0], "GET", f"/commands/{key}")
        if q is None or q[0] != 200:
            raise SystemExit(f"GET /commands/{key} failed: {q}")
        ledger.partition[acc] = q[1]["partition"]  # a partition with enough already: one more
        ledger.balance[acc] = 0
    for n, acc in enumerate(sorted(ledger.partition)):
        r = command(cluster, rnd, "POST", f"/accounts/{acc}/deposit", {"amount": INITIAL},
                    f"{run}-initial-{n}", deadline_s, ledger)
        if r is None or r[0] != 200:
            raise SystemExit(f"initial deposit failed: {r}")
        ledger.balance[acc] += INITIAL
        ledger.deposited += INITIAL


def worker(cluster, ledger, run, wid, partition, stop, deadline_s, interval):
    """Commands whose account (a transfer's source) is in `partition`, one at a time: a client
    per partition, so a partition without an owner holds up only its own client."""
    rnd = random.Random(wid)
    accounts = sorted(ledger.partition)
    mine = [a for a in accounts if ledger.partition[a] == partition]
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        next_at += interval  # a bounded rate, not as fast as the replicas go
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_at = time.monotonic()
        n += 1
        key = f"{run}-w{wid}-{n}"
        amount = rnd.randint(1, 5000)
        if rnd.random() < 0.4:
            acc = rnd.choice(mine)
            r = command(cluster, rnd, "POST", f"/accounts/{acc}/deposit", {"amount": amount}, key,
                        deadline_s, ledger)
            if r is None:
                with ledger.lock:
                    ledger.unexpected.append(f"deposit {key} got no final answer in {deadline_s} s")
                continue
            status, payload, first, done = r
            with ledger.lock:
                if status == 200:
                    ledger.balance[acc] += amount
                    ledger.deposited += amount
                    ledger.counts["deposit"] += 1
                else:
                    ledger.unexpected.append(f"deposit {key}: {status} {payload}")
                ledger.acks.append((done, ledger.partition[acc], done - first))
        else:
            src = rnd.choice(mine)
            dst = rnd.choice([a for a in accounts if a != src])
            r = command(cluster, rnd, "POST", "/transfers", {"from": src, "to": dst, "amount": amount},
                        key, deadline_s, ledger)
            if r is None:
                with ledger.lock:
                    ledger.unexpected.append(f"transfer {key} got no final answer in {deadline_s} s")
                continue
            status, payload, first, done = r
            with ledger.lock:
                if status == 200 and payload.get("status") in ("completed", "pending"):
                    ledger.balance[src] -= amount
                    ledger.balance[dst] += amount
                    ledger.counts["transfer"] += 1
                elif status == 409 and payload and payload.get("error") == "insufficient_funds":
                    ledger.counts["rejected"] += 1
                else:
                    ledger.unexpected.append(f"transfer {key}: {status} {payload}")
                ledger.acks.append((done, ledger.partition[src], done - first))


def ready(cluster, port):
    r = cluster.request(port, "GET", "/readyz")
    return r is not None and r[0] == 200


def wait_for(pred, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def owners(cluster, ledger, port):
    """partition -> instance serving it, from X-Served-By of account reads through `port`."""
    seen = {}
    for acc, p in ledger.partition.items():
        if p in seen:
            continue
        r = cluster.request(port, "GET", f"/accounts/{acc}")
        if r and r[0] == 200 and "x-stale" not in r[2]:
            seen[p] = r[2].get("x-served-by", "?")
    return seen


def partitions_acked_since(ledger, t, partitions):
    with ledger.lock:
        return {p for (done, p, _) in ledger.acks if done > t} >= set(range(partitions))


def gaps(ledger, start, end, partitions):
    """Per partition: the longest time without an acknowledgement within [start, end]."""
    with ledger.lock:
        acks = sorted((d, p) for d, p, _ in ledger.acks if start <= d <= end)
    out = {}
    for p in range(partitions):
        times = [start] + [d for d, q in acks if q == p] + [end]
        out[p] = max(b - a for a, b in zip(times, times[1:]))
    return out


def max_latency(ledger, start, end):
    with ledger.lock:
        lat = [l for d, _, l in ledger.acks if start <= d - l <= end]
    return max(lat) if lat else 0.0


def run_cmd(cmd):
    log(f"$ {cmd}")
    subprocess.run(cmd, shell=True, check=True, stdout=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True, help="comma-separated published ports, one per replica")
    ap.add_argument("--token", default="", help="bearer token (empty: none)")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--per-partition", type=int, default=2)
    ap.add_argument("--workers-per-partition", type=int, default=1)
    ap.add_argument("--rate", type=float, default=150.0, help="commands per second, all workers together")
    ap.add_argument("--victim", type=int, default=1, help="index in --ports of the replica to kill")
    ap.add_argument("--crash-cmd", default="", help="kill the victim, to be brought back by its restart policy")
    ap.add_argument("--kill-cmd", required=True, help="kill the victim, to stay down")
    ap.add_argument("--restart-cmd", required=True, help="start the victim again")
    ap.add_argument("--steady", type=float, default=5.0, help="seconds of load before a kill")
    ap.add_argument("--phase-timeout", type=float, default=90.0)
    args = ap.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    cluster = Cluster(ports, args.token, timeout=8)  # above the 5 s read-your-writes wait
    ledger = Ledger()
    run = uuid.uuid4().hex[:12]
    victim = ports[args.victim]
    result = {"run": run, "ports": ports, "victim_port": victim, "authorization": bool(args.token)}
    deadline_s = args.phase_timeout

    t0 = time.monotonic()
    setup_accounts(cluster, ledger, run, args.partitions, args.per_partition, deadline_s)
    result["accounts"] = len(ledger.partition)
    result["setup_s"] = round(time.monotonic() - t0, 2)
    log(f"{len(ledger.partition)} accounts over {args.partitions} partitions in {result['setup_s']} s")
    before = owners(cluster, ledger, ports[0])
    result["owners_before"] = {str(k): v for k, v in sorted(before.items())}
    r = cluster.request(victim, "GET", "/readyz")
    victim_name = r[1].get("instance") if r and r[1] else "?"
    victim_parts = sorted(p for p, o in before.items() if o == victim_name)
    result["victim"] = {"instance": victim_name, "partitions": victim_parts}

    def split(g):  # longest gap among the victim's partitions, and among the others
        mine = [v for p, v in g.items() if p in victim_parts]
        rest = [v for p, v in g.items() if p not in victim_parts]
        return {"longest_gap_victim_partitions_s": round(max(mine), 2) if mine else None,
                "longest_gap_other_partitions_s": round(max(rest), 2) if rest else None}

    stop = threading.Event()
    workers = args.partitions * args.workers_per_partition
    interval = workers / args.rate
    threads = [threading.Thread(target=worker, daemon=True,
                                args=(cluster, ledger, run, w, w % args.partitions, stop, deadline_s, interval))
               for w in range(workers)]
    load_start = time.monotonic()
    for t in threads:
        t.start()
    failures = []
    try:
        time.sleep(args.steady)
        if args.crash_cmd:
            t_crash = time.monotonic()
            run_cmd(args.crash_cmd)
            cluster.mark_down(victim, 1.0)
            time.sleep(0.5)  # the old process must be gone before /readyz counts
            back = wait_for(lambda: ready(cluster, victim), args.phase_timeout, step=0.05)
            t_ready = time.monotonic()
            settled = wait_for(lambda: partitions_acked_since(ledger, t_ready, args.partitions), args.phase_timeout)
            time.sleep(args.steady)
            t_end = time.monotonic()
            g = gaps(ledger, t_crash, t_end, args.partitions)
            result["crash"] = {
                "restarted_ready_s": round(t_ready - t_crash, 2) if back else None,
                **split(g),
                "longest_partition_gap_s": round(max(g.values()), 2),
                "partition_gaps_s": {str(k): round(v, 2) for k, v in g.items()},
                "max_command_latency_s": round(max_latency(ledger, t_crash, t_end), 2),
            }
            if not (back and settled):
                failures.append("after the crash the replica or a partition did not come back")
            log(f"crash: {result['crash']}")

        # Clients find out by themselves (refused connections) and retry elsewhere; they are
        # kept off the victim until it is ready again.
        t_kill = time.monotonic()
        run_cmd(args.kill_cmd)
        cluster.mark_down(victim, 3600.0)
        took_over = wait_for(lambda: partitions_acked_since(ledger, t_kill + 0.5, args.partitions)
                             and all(p in owners(cluster, ledger, ports[(args.victim + 1) % len(ports)])
                                     for p in range(args.partitions)),
                             args.phase_timeout, step=0.5)
        t_over = time.monotonic()
        time.sleep(args.steady)
        during = owners(cluster, ledger, ports[(args.victim + 1) % len(ports)])
        t_restart = time.monotonic()
        g = gaps(ledger, t_kill, t_restart, args.partitions)
        result["kill"] = {
            "taken_over_s": round(t_over - t_kill, 2) if took_over else None,
            **split(g),
            "longest_partition_gap_s": round(max(g.values()), 2),
            "partition_gaps_s": {str(k): round(v, 2) for k, v in g.items()},
            "max_command_latency_s": round(max_latency(ledger, t_kill, t_restart), 2),
            "owners_while_down": {str(k): v for k, v in sorted(during.items())},
        }
        log(f"kill: {result['kill']}")
        if not took_over:
            failures.append("the surviving replicas did not take the victim's partitions over")

        run_cmd(args.restart_cmd)
        back = wait_for(lambda: ready(cluster, victim), args.phase_timeout, step=0.05)
        t_ready = time.monotonic()
        cluster.mark_up(victim)  # clients use it again once it is ready
        settled = wait_for(lambda: partitions_acked_since(ledger, t_ready, args.partitions), args.phase_timeout)
        time.sleep(args.steady)
        t_end = time.monotonic()
        after = owners(cluster, ledger, ports[0])
        g = gaps(ledger, t_restart, t_end, args.partitions)
        result["restart"] = {
            "ready_s": round(t_ready - t_restart, 2) if back else None,
            **split(g),
            "longest_partition_gap_s": round(max(g.values()), 2),
            "partition_gaps_s": {str(k): round(v, 2) for k, v in g.items()},
            "max_command_latency_s": round(max_latency(ledger, t_restart, t_end), 2),
            "owners_after": {str(k): v for k, v in sorted(after.items())},
        }
        log(f"restart: {result['restart']}")
        if not (back and settled):
            failures.append("the restarted replica did not become ready, or a partition stayed unanswered")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=deadline_s + 5)
    load_s = time.monotonic() - load_start
    result["load_s"] = round(load_s, 1)
    result["commands"] = dict(ledger.counts)
    result["retry_causes"] = dict(ledger.retry_causes)
    acked = ledger.counts["deposit"] + ledger.counts["transfer"] + ledger.counts["rejected"]
    result["commands_per_s"] = round(acked / load_s, 1)
    if ledger.unexpected:
        failures.append(f"{len(ledger.unexpected)} unexpected answers, e.g. {ledger.unexpected[:3]}")

    # Every acknowledged command, through every replica: balances (credits of cross-partition
    # transfers land shortly after their acknowledgement, so wait for them) and the total.
    expected = dict(ledger.balance)
    t_check = time.monotonic()
    mismatch = {}

    def agree():
        mismatch.clear()
        for port in ports:
            for acc, want in expected.items():
                r = cluster.request(port, "GET", f"/accounts/{acc}")
                got = r[1].get("balance") if r and r[0] == 200 and r[1] else (r[0] if r else "unreachable")
                if got != want or (r and "x-stale" in r[2]):
                    mismatch[f"{port}:{acc}"] = {"want": want, "got": got}
        return not mismatch

    ok = wait_for(agree, args.phase_timeout, step=1.0)
    result["agreement_s"] = round(time.monotonic() - t_check, 2)
    result["money_deposited"] = ledger.deposited  # what the accounts hold together, transfers move it
    if sum(expected.values()) != ledger.deposited:
        failures.append("the test's own ledger does not add up")
    if not ok:
        failures.append(f"balances differ from the acknowledged commands: {dict(list(mismatch.items())[:5])}")
    # The listing through every replica (pages merged from the owners) has every account.
    for port in ports:
        ids, after_id = set(), ""
        for _ in range(100):
            r = cluster.request(port, "GET", f"/accounts?limit=100{'&after=' + after_id if after_id else ''}")
            if not r or r[0] != 200:
                failures.append(f"GET /accounts through {port}: {r[0] if r else 'unreachable'}")
                break
            page = r[1].get("accounts", r[1].get("items", [])) if isinstance(r[1], dict) else r[1]
            ids.update(a["id"] for a in page)
            after_id = r[1].get("next", "") if isinstance(r[1], dict) else ""
            if not after_id:
                break
        missing = set(expected) - ids
        if missing:
            failures.append(f"GET /accounts through {port} misses {len(missing)} of the test's accounts")
    result["ok"] = not failures
    result["failures"] = failures
    print(json.dumps(result, indent=2))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
