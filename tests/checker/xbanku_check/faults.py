"""``python -m xbanku_check faults``: the nemesis. Each scenario starts its own deployment (three
instances on a fresh topic of a broker and a Redis this run owns, the broker and every instance
behind Toxiproxy), drives the bank workload (workload.py), injects one fault mid-load, heals it,
and measures:

* what clients were answered while the fault lasted, by class (2xx, 4xx, 503, 504, no answer);
* recovery: from the start of the heal (a restarted broker's own start-up included) until every
  instance is ready and acknowledges a fresh command (``POST /accounts``), bounded by
  ``RECOVERY_LIMIT``;
* the verdict: every invariant of invariants.py against the checker's own fold of the raw topic
  (money, exactly one outcome per acknowledged command, every instance alike, the Redis mirror
  equals the view), then ``--act=verify`` on each stopped instance.

Scenarios that need root (a tmpfs for the full disk) say so and are skipped without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx

from .cluster import LocalCluster, ServiceConfig, free_port, wait_quiescent
from .invariants import Finding, check_bank, check_mirror
from .own_services import OwnBroker, OwnRedis
from .toxiproxy import Toxiproxy
from .workload import BankWorkload, WorkloadConfig

ROOT = Path(__file__).resolve().parents[3]
PARTITIONS = 6
RECOVERY_LIMIT = 120.0
MiB = 1 << 20


@dataclass
class Rig:
    """What a scenario acts on."""

    broker: OwnBroker
    redis: OwnRedis
    proxy: Toxiproxy
    cluster: LocalCluster
    workdir: Path
    peers: list[str]  # the Toxiproxy proxies in front of each instance (what the others dial)
    notes: list[str] = field(default_factory=list)


Act = Callable[[Rig], None]


def nothing(rig: Rig) -> None:
    pass


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    fault: Act = nothing
    heal: Act = nothing
    seconds: float = 15.0  # how long the fault lasts
    root: bool = False  # needs root (mounts a filesystem)


def toxic(proxies: Callable[[Rig], list[str]], kind: str, both: bool = True, **attributes: int) -> Act:
    def act(rig: Rig) -> None:
        for p in proxies(rig):
            if both:
                rig.proxy.both_ways(p, kind, **attributes)
            else:
                rig.proxy.toxic(p, kind, **attributes)
    return act


def healed(proxies: Callable[[Rig], list[str]]) -> Act:
    return lambda rig: [rig.proxy.heal(p) for p in proxies(rig)]


broker = lambda rig: ["kafka"]
peers = lambda rig: rig.peers

# ---- faults that are not a toxic ----


def fill_disk(rig: Rig) -> None:
    """Leaves 48 MiB on the first instance's filesystem: below the headroom xbanku keeps for
    RocksDB's flushes (StoreOptions::min_free_bytes, 192 MiB by default), so its projector stops
    committing; above what the flush in progress may still need."""
    folder = rig.cluster.nodes[0].data_dir.parent
    st = os.statvfs(folder)
    size = st.f_bavail * st.f_frsize - 48 * MiB
    with open(folder / "ballast", "wb") as f:
        os.posix_fallocate(f.fileno(), 0, size)
    rig.notes.append(f"ballast of {size // MiB} MiB, 48 MiB left")
    # The projector notices at its next commit (the load keeps them coming): /readyz must say so.
    url, deadline = rig.cluster.nodes[0].url, time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/readyz", timeout=2)
            if r.status_code == 503 and r.json().get("reason") == "store_unwritable":
                rig.notes.append("/readyz answered 503 store_unwritable while full")
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    rig.notes.append("MISSING: /readyz did not answer 503 store_unwritable within 10 s of the fill")


def free_disk(rig: Rig) -> None:
    folder = rig.cluster.nodes[0].data_dir.parent
    (folder / "ballast").unlink()
    # It retries with a back-off of up to 2 s: the line of its resumption follows within that.
    deadline = time.monotonic() + 15
    while True:
        log = rig.cluster.nodes[0].log_path.read_text(errors="replace")
        said = "cannot commit to the view" in log and "accepts writes again" in log
        if said or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    rig.notes.append("the instance logged that it stopped and resumed committing" if said
                     else "MISSING: the log lines of the full disk and of its end")


def kill_loop(kills: int, seconds: float):
    """SIGKILLs instances, one at a time, ``kills`` times in ``seconds``; each restarts 2 s later
    on its data."""
    async def loop(rig: Rig) -> None:
        rng = random.Random(7)
        for _ in range(kills):
            victim = rng.choice(rig.cluster.nodes)
            victim.kill()
            await asyncio.sleep(2.0)
            victim.start()
            await asyncio.sleep(max(0.0, seconds / kills - 2.0))
        rig.notes.append(f"{kills} SIGKILLs, each instance restarted 2 s after its kill")
    return loop


def restart_stopped(rig: Rig) -> None:
    for n in rig.cluster.nodes:
        if not n.running:
            n.start()


SCENARIOS = [
    Scenario("none", "no fault: the baseline", seconds=10),
    Scenario("broker-latency", "broker link: +500 ms ± 200 on every answer",
             toxic(broker, "latency", both=False, latency=500, jitter=200), healed(broker)),
    Scenario("broker-bandwidth", "broker link: 32 KB/s each way",
             toxic(broker, "bandwidth", rate=32), healed(broker)),
    Scenario("broker-slicer", "broker link: sliced into ~64-byte segments, 200 µs apart",
             toxic(broker, "slicer", average_size=64, size_variation=32, delay=200), healed(broker)),
    Scenario("broker-reset", "broker link: every connection reset (TCP RST)",
             toxic(broker, "reset_peer", timeout=0), healed(broker)),
    Scenario("broker-blackhole", "broker link: a black hole (data dropped, connections held)",
             toxic(broker, "timeout", timeout=0), healed(broker)),
    Scenario("broker-kill", "broker SIGKILLed, restarted 8 s later on its data",
             lambda rig: rig.broker.kill(), lambda rig: rig.broker.start(), seconds=8),
    Scenario("broker-pause", "broker SIGSTOPped for 15 s",
             lambda rig: rig.broker.pause(), lambda rig: rig.broker.resume()),
    Scenario("peer-latency", "links between instances: +500 ms ± 200 each way",
             toxic(peers, "latency", latency=500, jitter=200), healed(peers)),
    Scenario("peer-blackhole", "links between instances: a black hole",
             toxic(peers, "timeout", timeout=0), healed(peers)),
    Scenario("peer-reset", "links between instances: every connection reset",
             toxic(peers, "reset_peer", timeout=0), healed(peers)),
    Scenario("redis-empty", "Redis killed and restarted empty under load (the mirror refills)",
             lambda rig: rig.redis.restart_empty(), seconds=2),
    Scenario("disk-full", "the first instance's filesystem (a 256 MiB tmpfs) full",
             fill_disk, free_disk, seconds=15, root=True),
    Scenario("kill-loop", "20 SIGKILLs across the three instances in 120 s",
             kill_loop(20, 120), restart_stopped, seconds=120),
]
CI = {"broker-kill": 8.0, "broker-blackhole": 10.0}  # the CI run: these, with these fault lengths


@dataclass
class Result:
    scenario: str
    what: str
    during: dict[str, int]  # answer classes of operations started while the fault lasted
    overall: dict[str, int]
    recovery_s: float | None
    verdict: str  # PASS | FAIL | SKIPPED
    findings: list[str]
    notes: list[str]
    ops: int

    def row(self) -> str:
        during = " · ".join(f"{k} {v}" for k, v in self.during.items()) or "—"
        rec = f"{self.recovery_s:.1f} s" if self.recovery_s is not None else "—"
        return f"| {self.scenario} | {self.what} | {during} | {rec} | {self.verdict} |"


def answer_class(op) -> str:
    s = op.answer.status if op.answer else None
    if s is None:
        return "no answer"
    if 200 <= s < 300:
        return "2xx"
    if s in (503, 504):
        return str(s)
    return "4xx" if 400 <= s < 500 else str(s)


def classes(ops) -> dict[str, int]:
    order = ["2xx", "4xx", "503", "504", "no answer"]
    c = Counter(answer_class(o) for o in ops)
    return {k: c[k] for k in order if c[k]} | {k: v for k, v in c.items() if k not in order}


async def recovered(urls: list[str], since: float) -> float | None:
    """Seconds from ``since`` until every instance is ready and acknowledges a fresh create."""
    pending = list(urls)
    async with httpx.AsyncClient(timeout=10) as client:
        while pending and time.monotonic() - since < RECOVERY_LIMIT:
            url = pending[0]
            try:
                ready = (await client.get(url + "/readyz")).status_code == 200
                if ready and (await client.post(url + "/accounts", json={"name": "recovery probe"})).status_code == 201:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    return None if pending else time.monotonic() - since


async def mirror_refills(rig: Rig, view: dict[str, dict]) -> list[Finding]:
    """With no traffic: Redis restarted empty once more; the mirror must hold every account of
    the view again (refilled from the views, not rewritten by later changes)."""
    rig.redis.restart_empty()
    start = time.monotonic()
    while time.monotonic() - start < 60:
        missing = await asyncio.to_thread(check_mirror, rig.redis.url(), view)
        if not missing:
            rig.notes.append(f"idle Redis restarted empty: {len(view)} accounts refilled in "
                             f"{time.monotonic() - start:.1f} s")
            return []
        await asyncio.sleep(0.5)
    return [Finding("mirror-refilled", f"{len(missing)} of {len(view)} accounts still differ 60 s after "
                    f"Redis restarted empty: {missing[0]}")]


async def drive(s: Scenario, rig: Rig, seconds: float, warmup: float, tail: float, seed: int):
    """The workload, with the fault from ``warmup`` s after setup for ``seconds`` s, then the
    checker at quiescence. No "*" subscribers: an update stream has no promise across a killed
    instance or a cut peer link, and the invariants here are about money and outcomes."""
    load = WorkloadConfig(accounts=24, ops=1_000_000, duration=warmup + seconds + tail, concurrency=8,
                          seed=seed, initial_balance=5_000, request_timeout=12.0)
    c, urls = rig.cluster.config, rig.cluster.urls
    workload = asyncio.create_task(BankWorkload(load, urls, PARTITIONS).run())
    window: dict[str, float] = {}

    async def nemesis() -> float | None:
        await asyncio.sleep(warmup + 3.0)  # setup (24 accounts) takes about 3 s
        window["from"] = time.monotonic()
        if asyncio.iscoroutinefunction(s.fault):
            await s.fault(rig)  # it lasts as long as it lasts
        else:
            await asyncio.to_thread(s.fault, rig)
            await asyncio.sleep(seconds)
        window["to"] = time.monotonic()  # recovery counts from here, the heal itself included
        await asyncio.to_thread(s.heal, rig)
        return await recovered(urls, window["to"])
    recovery, history = await asyncio.gather(nemesis(), workload)
    await wait_quiescent(urls, rig.broker.direct, c.topic, timeout=180)
    report = await check_bank(history, rig.broker.direct, c.topic, c.redis, tolerate_degraded=True)
    return report, recovery, window


def run_scenario(s: Scenario, args, broker: OwnBroker, redis_: OwnRedis, proxy: Toxiproxy,
                 seconds: float, n: int) -> Result:
    if s.root and os.geteuid() != 0:
        return Result(s.name, s.what, {}, {}, None, "SKIPPED", [], ["needs root to mount a tmpfs"], 0)
    topic = f"faults-{s.name}-{os.getpid()}"
    workdir = Path(args.workdir) / s.name
    workdir.mkdir(parents=True, exist_ok=True)
    config = ServiceConfig(args.binary, f"127.0.0.1:{broker.proxy_port}", topic, topic, PARTITIONS,
                           redis_.url(), ["--session-timeout-ms", "6000"])
    cluster = LocalCluster(config, workdir, 3)
    names = []
    # The instances' ports are chosen but not yet bound: a proxy must not take one of them
    # (CI saw an instance fail with "Address already in use" that way).
    taken = {node.port for node in cluster.nodes}
    for node in cluster.nodes:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        name = f"peer-{s.name}-{node.name}"
        proxy.proxy(name, port, f"127.0.0.1:{node.port}")
        node.extra = ["--advertise", f"http://127.0.0.1:{port}"]
        names.append(name)
    rig = Rig(broker, redis_, proxy, cluster, workdir, names)
    mounted = None
    if s.root:
        mounted = workdir / "disk"
        mounted.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mounted)], check=True)
        node = cluster.nodes[0]
        node.data_dir, node.log_path = mounted / node.name, workdir / f"{node.name}.log"
    findings: list[Finding] = []
    try:
        try:
            redis_.restart_empty()  # each scenario starts with an empty mirror
            cluster.start()
            report, recovery, window = asyncio.run(drive(s, rig, seconds, args.warmup, args.tail, n))
            if s.name == "redis-empty":
                view = {a.id: a.as_json() for a in report.verdict.model.accounts.values()}
                findings += asyncio.run(mirror_refills(rig, view))
        finally:
            for node in cluster.nodes:
                node.stop()
            for name in names:
                proxy.api.delete(f"/proxies/{name}")
        report.verified = {name: status for name, (status, _) in cluster.verify().items()}
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mounted)], check=False)
    findings += report.findings
    findings += [Finding("fault-observed", note) for note in rig.notes if note.startswith("MISSING")]
    if recovery is None:
        findings.append(Finding("recovers", f"not recovered within {RECOVERY_LIMIT:.0f} s of the heal"))
    ops = [o for o in report.history.ops if o.purpose != "setup"]
    during = [o for o in ops if window["from"] <= o.start <= window["to"]]
    bad_verify = {k: v for k, v in report.verified.items() if v != 0}
    ok = report.verdict.ok and not findings and not bad_verify
    print(report.render())
    for name, status in bad_verify.items():
        findings.append(Finding("verify", f"--act=verify {name} exited {status}; see {workdir}"))
    return Result(s.name, s.what, classes(during), classes(ops), recovery, "PASS" if ok else "FAIL",
                  [str(f) for f in findings], rig.notes, len(ops))


def render(results: list[Result]) -> str:
    lines = ["| fault | what | answers while it lasted | recovery | checker |", "|---|---|---|---|---|"]
    lines += [r.row() for r in results]
    for r in results:
        for note in r.notes:
            lines.append(f"- {r.scenario}: {note}")
        for f in r.findings:
            lines.append(f"- {r.scenario}: VIOLATION {f}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--binary", default=str(ROOT / "build" / "xbanku"))
    p.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS],
                   help="run only these (repeat); default: every scenario")
    p.add_argument("--ci", action="store_true", help=f"the CI run: {', '.join(CI)} with shorter faults")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of load before the fault")
    p.add_argument("--tail", type=float, default=15.0, help="seconds of load after the heal")
    p.add_argument("--workdir", default=None, help="brokers', instances' data and logs (default: .cache/faults)")
    p.add_argument("--out", default=None, help="write faults-latest.json and .md here")


def main(args: argparse.Namespace) -> int:
    args.workdir = str(Path(args.workdir or ROOT / ".cache" / "faults").resolve())
    subprocess.run(["rm", "-rf", args.workdir], check=True)
    Path(args.workdir).mkdir(parents=True)
    # A copy: a rebuild during the run must not change the binary between scenarios.
    binary = Path(args.workdir) / "xbanku"
    shutil.copy2(Path(args.binary).resolve(), binary)
    args.binary = str(binary)
    # SIGTERM (a timeout, a Ctrl-C from a wrapper) unwinds like an exception, so every process
    # this run started (in sessions of their own) is stopped by the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = [s for s in SCENARIOS if (s.name in CI if args.ci else not args.scenario or s.name in args.scenario)]
    if args.ci:
        args.warmup, args.tail = 3.0, 8.0
    workdir = Path(args.workdir)
    proxy = Toxiproxy(workdir)
    proxy.start()
    broker = OwnBroker(workdir, free_port())
    redis_ = OwnRedis(workdir)
    results: list[Result] = []
    started = time.monotonic()
    try:
        proxy.proxy("kafka", broker.proxy_port, broker.proxied)
        broker.start()
        redis_.start()
        for n, s in enumerate(chosen, 1):
            seconds = CI.get(s.name, s.seconds) if args.ci else s.seconds
            print(f"=== {s.name}: {s.what} ({seconds:.0f} s)", flush=True)
            try:
                results.append(run_scenario(s, args, broker, redis_, proxy, seconds, n))
            except Exception as e:  # one scenario's breakage is its FAIL, not the run's end
                results.append(Result(s.name, s.what, {}, {}, None, "FAIL", [f"{type(e).__name__}: {e}"], [], 0))
            r = results[-1]
            print(f"=== {s.name}: {r.verdict}; recovery {r.recovery_s}; during {r.during}", flush=True)
    finally:
        broker.stop()
        redis_.stop()
        proxy.stop()
    table = render(results)
    print(table)
    print(f"faults: {len(results)} scenarios in {time.monotonic() - started:.0f} s")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "faults-latest.json").write_text(json.dumps([vars(r) for r in results], indent=1))
        (out / "faults-latest.md").write_text(table + "\n")
    return 0 if all(r.verdict != "FAIL" for r in results) else 1
