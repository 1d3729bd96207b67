"""``python -m xbanku_check bank``: run the bank workload, then judge it (invariants.py).

With ``--spawn N`` it starts N instances of the given binary on a fresh topic, and after the run
stops them and runs ``--act=verify`` on each; with ``--instance URL`` it uses running instances
(then ``--act=verify`` is left to whoever manages them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
from pathlib import Path

from .cluster import LocalCluster, ServiceConfig, wait_quiescent
from .invariants import BankReport, check_bank
from .subscriptions import subscribe_all
from .topic import partition_count
from .workload import BankWorkload, WorkloadConfig


async def run_bank(config: WorkloadConfig, urls: list[str], brokers: str, topic: str, partitions: int,
                   redis_url: str | None = None, tolerate_degraded: bool = False) -> BankReport:
    """The workload (watched by a "*" subscriber on every instance), quiescence, and every
    invariant that needs no stopped instance."""
    subscriptions = await subscribe_all(urls)
    try:
        history = await BankWorkload(config, urls, partitions).run()
        await wait_quiescent(urls, brokers, topic)
    finally:
        for s in subscriptions:
            await s.stop()
    return await check_bank(history, brokers, topic, redis_url, subscriptions, tolerate_degraded)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", help="default with --spawn: a fresh bank-<random> topic")
    p.add_argument("--instance", action="append", default=[], metavar="URL", help="a running instance (repeat)")
    p.add_argument("--spawn", type=int, default=0, metavar="N", help="start N instances of --binary")
    p.add_argument("--binary", default="build/xbanku")
    p.add_argument("--partitions", type=int, default=6, help="with --spawn: partitions of the new topic")
    p.add_argument("--redis", metavar="URL", help="redis://127.0.0.1:PORT/DB: mirror to check (--spawn passes it on)")
    p.add_argument("--workdir", help="with --spawn: data folders and logs (default: a temporary folder)")
    p.add_argument("--session-timeout-ms", type=int, default=6000, help="with --spawn")
    for name, default in vars(WorkloadConfig()).items():
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    p.add_argument("--tolerate-degraded", action="store_true",
                   help="report, do not fail on, 503 / X-Stale answers at quiescence (each is retried)")
    p.add_argument("--json", metavar="FILE", help="write the history and the verdict as JSON")


def main(args: argparse.Namespace) -> int:
    names = {k for k, v in vars(WorkloadConfig()).items() if isinstance(v, (int, float))}
    config = WorkloadConfig(**{k: getattr(args, k) for k in names})
    if args.spawn:
        topic = args.topic or f"bank-{secrets.token_hex(4)}"
        service = ServiceConfig(str(Path(args.binary).resolve()), args.brokers, topic, topic, args.partitions,
                                args.redis, ["--session-timeout-ms", str(args.session_timeout_ms)])
        workdir = Path(args.workdir or tempfile.mkdtemp(prefix="xbanku-bank-"))
        cluster = LocalCluster(service, workdir, args.spawn)
        try:
            cluster.start()
            report = asyncio.run(run_bank(config, cluster.urls, args.brokers, topic, args.partitions, args.redis,
                                          args.tolerate_degraded))
        finally:
            cluster.stop()
        report.verified = {name: status for name, (status, _) in cluster.verify().items()}
        print(f"instances' data and logs: {workdir}")
    else:
        if not args.instance or not args.topic:
            raise SystemExit("bank: give --spawn N, or --instance URL (repeatable) and --topic")
        report = asyncio.run(run_bank(config, args.instance, args.brokers, args.topic,
                                      partition_count(args.brokers, args.topic), args.redis, args.tolerate_degraded))
    print(report.render())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ops": [o.as_json() for o in report.history.ops], "verdict": report.verdict.as_json(),
                       "findings": [vars(x) for x in report.findings], "verified": report.verified,
                       "ok": report.ok}, f, indent=1, default=str)
    return 0 if report.ok else 1
