"""``python -m xbanku_check soak``: a fixed, mixed request rate for a bounded time, printing per
interval the instance's RSS (/proc/<pid>/status VmRSS), open file descriptors (/proc/<pid>/fd),
the interval's p50/p99 latency as the client saw it and the p99 of xbanku's own command histogram
(``srv_p99``: what the server spent, without the client's or the machine's queueing), projector lag
(``xbanku_consumer_lag`` gauges, /readyz) and the machine's load average, so a reader sees whether
they stay flat, and what else was running.

The load is open-loop: operations start on a fixed schedule whatever the answers take, and a
latency is measured from the scheduled start (a slow server cannot slow the clock that measures
it). The mix: commands (deposits, withdrawals, same- and cross-partition transfers), reads
(account, page of accounts, history, command outcome), and connection churn (a fresh HTTP
connection, a WebSocket opened, subscribed, used once and closed), which is where descriptors
leak if they leak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

from .api import Instance
from .check import run_check
from .cluster import LocalCluster, ServiceConfig, wait_quiescent
from .partitioner import partition_of


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


def proc_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def proc_table_fds(pid: int) -> int:
    """Descriptors of RocksDB table files: the store keeps every .sst open, so they come and go
    with flushes and compactions, and are not a leak."""
    n = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            n += fd.readlink().suffix == ".sst"
        except OSError:  # closed meanwhile
            pass
    return n


def loadavg() -> float:
    """The machine's 1-minute load average: other work on the same cores shows up in latency."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The q-quantile (the upper bound of its bucket) of what a cumulative Prometheus histogram
    counted between two samples; NaN when it counted nothing."""
    deltas = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = deltas[-1][1] if deltas else 0.0
    if total <= 0:
        return float("nan")
    return next(le for le, n in deltas if n >= q * total)


def command_buckets(samples: list) -> dict[float, float]:
    """xbanku's own command latency histogram (answered once projected), cumulative by bound."""
    return {float(s.labels["le"]): s.value for s in samples
            if s.name == "xbanku_command_latency_seconds_bucket" and s.labels.get("stage") == "projected"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


@dataclass
class Interval:
    t: float
    ops: int
    errors: int
    skipped: int
    p50_ms: float
    p99_ms: float
    server_p99_ms: float  # xbanku's own histogram: commands, receipt to answer
    rss_mb: float
    fds: int
    lag_max: float
    lag_sum: float
    ready: int
    load: float


@dataclass
class Soak:
    url: str
    pid: int
    rate: float
    duration: float
    interval: float
    partitions: int
    accounts: int = 64
    max_in_flight: int = 64
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    rows: list[Interval] = field(default_factory=list)
    rest_fds: tuple[int, int] = (0, 0)  # descriptors with no client connected, .sst excluded: before, after

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=self.max_in_flight))
        self.ids = [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(self.accounts)]
        self.keys: list[str] = []
        self.latencies: list[float] = []
        self.errors = self.skipped = self.in_flight = 0
        self.run_id = secrets.token_hex(3)
        self.buckets: dict[float, float] = {}

    async def _post(self, path: str, body: dict, client: httpx.AsyncClient | None = None) -> bool:
        key = f"{self.run_id}-{len(self.keys)}"
        self.keys.append(key)
        r = await (client or self.client).post(self.url + path, json=body, headers={"Idempotency-Key": key})
        return r.status_code in (200, 201, 404, 409)

    async def setup(self) -> None:
        for i, acc in enumerate(self.ids):
            assert await self._post("/accounts", {"name": f"soak-{i}", "id": acc})
            assert await self._post(f"/accounts/{acc}/deposit", {"amount": 1_000_000})

    def _pair(self, same: bool) -> tuple[str, str]:
        a = self.rng.choice(self.ids)
        home = partition_of(a, self.partitions)
        pool = [b for b in self.ids if b != a and (partition_of(b, self.partitions) == home) == same] or self.ids
        return a, self.rng.choice(pool)

    async def _ws_once(self) -> bool:
        async with websockets.connect(self.url.replace("http://", "ws://") + "/ws") as ws:
            await ws.send(json.dumps({"id": 1, "op": "subscribe", "accounts": [self.rng.choice(self.ids)]}))
            await ws.send(json.dumps({"id": 2, "op": "get", "account": self.rng.choice(self.ids)}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if msg.get("id") == 2:
                    return bool(msg.get("ok"))

    async def _fresh_connection(self) -> bool:
        """A deposit on a connection of its own, closed after it (raw HTTP/1.1: a new httpx
        client per call would cost the loaded client more CPU than the server)."""
        host, port = self.url.removeprefix("http://").split(":")
        key = f"{self.run_id}-{len(self.keys)}"
        self.keys.append(key)
        body = b'{"amount":1}'
        request = (f"POST /accounts/{self.rng.choice(self.ids)}/deposit HTTP/1.1\r\nHost: {host}\r\n"
                   f"Content-Type: application/json\r\nIdempotency-Key: {key}\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(request)
            status_line = await asyncio.wait_for(reader.readline(), 15)
            await asyncio.wait_for(reader.read(), 15)  # until the server closes
        finally:
            writer.close()
        return status_line.split()[1:2] == [b"200"]

    async def _one(self) -> bool:
        r = self.rng.random()
        acc = self.rng.choice(self.ids)
        amount = self.rng.randint(1, 100)
        if r < 0.20:
            return await self._post(f"/accounts/{acc}/deposit", {"amount": amount})
        if r < 0.35:
            return await self._post(f"/accounts/{acc}/withdraw", {"amount": amount})
        if r < 0.55:
            a, b = self._pair(same=r < 0.45)
            return await self._post("/transfers", {"from": a, "to": b, "amount": amount})
        if r < 0.70:
            return (await self.client.get(f"{self.url}/accounts/{acc}")).status_code == 200
        if r < 0.78:
            return (await self.client.get(f"{self.url}/accounts", params={"limit": 50})).status_code == 200
        if r < 0.86:
            return (await self.client.get(f"{self.url}/accounts/{acc}/events", params={"limit": 20})).status_code == 200
        if r < 0.94 and self.keys:
            return (await self.client.get(f"{self.url}/commands/{self.rng.choice(self.keys)}")).status_code in (200, 404)
        if r < 0.97:
            return await self._fresh_connection()
        return await self._ws_once()

    async def _timed(self, scheduled: float) -> None:
        self.in_flight += 1
        try:
            ok = await self._one()
        except (httpx.HTTPError, OSError, asyncio.TimeoutError, websockets.WebSocketException):
            ok = False
        finally:
            self.in_flight -= 1
        self.latencies.append(time.monotonic() - scheduled)
        self.errors += not ok

    async def _sample(self, t: float, instance: Instance) -> Interval:
        samples = await instance.metrics()
        lags = [s.value for s in samples if s.name == "xbanku_consumer_lag"]
        ready = (await self.client.get(self.url + "/readyz")).status_code
        buckets = command_buckets(samples)
        row = Interval(t, len(self.latencies), self.errors, self.skipped, percentile(self.latencies, 0.5) * 1000,
                       percentile(self.latencies, 0.99) * 1000, histogram_quantile(self.buckets, buckets, 0.99) * 1000,
                       proc_rss_mb(self.pid), proc_fds(self.pid), max(lags, default=0.0), sum(lags), ready, loadavg())
        self.buckets = buckets
        self.latencies, self.errors, self.skipped = [], 0, 0
        return row

    async def _fds_at_rest(self) -> int:
        """Descriptors once every client connection is closed (keep-alive ones are fds too),
        RocksDB's table files left out."""
        await self.client.aclose()
        await asyncio.sleep(1.0)
        fds = proc_fds(self.pid) - proc_table_fds(self.pid)
        self.client = httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=self.max_in_flight))
        return fds

    async def run(self) -> list[Interval]:
        await self.setup()
        before = await self._fds_at_rest()
        instance = Instance(self.url, self.client)
        self.buckets = command_buckets(await instance.metrics())
        print(f"soak: {self.url} pid {self.pid}: {self.rate:g} ops/s for {self.duration:g} s, "
              f"a row every {self.interval:g} s", flush=True)
        print(f"{'t_s':>6} {'ops':>6} {'err':>4} {'skip':>4} {'p50_ms':>7} {'p99_ms':>7} {'srv_p99':>7} {'rss_MB':>7} "
              f"{'fds':>5} {'lag_max':>7} {'lag_sum':>7} {'readyz':>6} {'load1':>6}", flush=True)
        tasks: set[asyncio.Task] = set()
        start = time.monotonic()
        next_row, n = start + self.interval, 0
        while True:
            scheduled = start + n / self.rate
            if scheduled >= start + self.duration:
                break
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            n += 1
            if self.in_flight >= self.max_in_flight:
                self.skipped += 1  # the server is this far behind: shed, and say so
            else:
                task = asyncio.create_task(self._timed(scheduled))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if time.monotonic() >= next_row:
                self._print(await self._sample(next_row - start, instance))
                next_row += self.interval
        await asyncio.gather(*tasks)
        self._print(await self._sample(time.monotonic() - start, instance))
        self.rest_fds = (before, await self._fds_at_rest())
        await self.client.aclose()
        print(f"descriptors with no client connected, RocksDB table files left out: {before} before the load, "
              f"{self.rest_fds[1]} after ({proc_table_fds(self.pid)} .sst files open)")
        return self.rows

    def _print(self, row: Interval) -> None:
        self.rows.append(row)
        print(f"{row.t:6.0f} {row.ops:6d} {row.errors:4d} {row.skipped:4d} {row.p50_ms:7.1f} {row.p99_ms:7.1f} "
              f"{row.server_p99_ms:7.1f} "
              f"{row.rss_mb:7.1f} {row.fds:5d} {row.lag_max:7.0f} {row.lag_sum:7.0f} {row.ready:6d} {row.load:6.1f}",
              flush=True)


def flatness(rows: list[Interval], rest_fds: tuple[int, int], rss_slack_mb: float, fd_slack: int,
             lag_slack: float) -> list[str]:
    """What did not stay flat: RSS from the second row (after warm-up) to the last, descriptors
    at rest before and after, lag and readiness in every row, failed operations."""
    if len(rows) < 3:
        return ["too few rows to judge (make the run longer than three intervals)"]
    base, last = rows[1], rows[-1]
    problems = []
    if last.rss_mb - base.rss_mb > rss_slack_mb:
        problems.append(f"RSS grew {last.rss_mb - base.rss_mb:.1f} MB after warm-up (slack {rss_slack_mb} MB)")
    if rest_fds[1] - rest_fds[0] > fd_slack:
        problems.append(f"descriptors at rest grew {rest_fds[0]} -> {rest_fds[1]} (slack {fd_slack})")
    if max(r.lag_max for r in rows) > lag_slack:
        problems.append(f"projector lag reached {max(r.lag_max for r in rows):.0f} records (slack {lag_slack:g})")
    if any(r.ready != 200 for r in rows):
        problems.append(f"readyz was not 200 in {sum(r.ready != 200 for r in rows)} rows")
    if sum(r.errors for r in rows):
        problems.append(f"{sum(r.errors for r in rows)} operations failed")
    return problems


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--brokers", required=True, help="with --spawn; and for the checker at the end")
    p.add_argument("--binary", default="build/xbanku", help="the instance to start (default: spawn one)")
    p.add_argument("--url", help="a running instance instead of spawning one (needs --pid and --topic)")
    p.add_argument("--pid", type=int)
    p.add_argument("--topic")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--rate", type=float, default=100.0, help="operations per second")
    p.add_argument("--duration", type=float, default=600.0, help="seconds")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between rows")
    p.add_argument("--rss-slack-mb", type=float, default=24.0)
    p.add_argument("--fd-slack", type=int, default=8)
    p.add_argument("--lag-slack", type=float, default=2000.0, help="records")
    p.add_argument("--workdir", help="with a spawned instance: its data and log")


def main(args: argparse.Namespace) -> int:
    cluster = None
    if args.url:
        if not (args.pid and args.topic):
            raise SystemExit("soak: --url needs --pid and --topic")
        url, pid, topic = args.url.rstrip("/"), args.pid, args.topic
    else:
        topic = f"soak-{secrets.token_hex(4)}"
        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xbanku-soak-"))
        config = ServiceConfig(str(Path(args.binary).resolve()), args.brokers, topic, topic, args.partitions)
        cluster = LocalCluster(config, workdir, 1)
        cluster.start()
        url, pid = cluster.urls[0], cluster.nodes[0].pid
        print(f"instance data and log: {workdir}")
    try:
        soak = Soak(url, pid, args.rate, args.duration, args.interval, args.partitions)
        rows = asyncio.run(soak.run())
        asyncio.run(wait_quiescent([url], args.brokers, topic))
        verdict = asyncio.run(run_check(args.brokers, topic, [url]))
    finally:
        if cluster:
            cluster.stop()
    problems = flatness(rows, soak.rest_fds, args.rss_slack_mb, args.fd_slack, args.lag_slack)
    print(verdict.render(limit=10))
    for p in problems:
        print(f"  NOT FLAT: {p}")
    print(f"SOAK: {'PASS' if not problems and verdict.ok else 'FAIL'}")
    return 0 if not problems and verdict.ok else 1
