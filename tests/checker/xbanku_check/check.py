"""``python -m xbanku_check check``: fold the topic, compare every instance, print a verdict."""

from __future__ import annotations

import argparse
import asyncio
import json

from .api import Instance
from .compare import Verdict, check_dead_letters, check_instances
from .fold import fold_log
from .topic import read_dead_letters, read_topic

# Anomalies a hand-written log may hold without xbanku being wrong (forged follow-ups).
FOREIGN_ANOMALIES = ("credit_without_transfer", "refund_without_failed_credit", "money_not_conserved")


async def run_check(brokers: str, topic: str, urls: list[str], *, dead_letters: bool = True,
                    tolerate: tuple[str, ...] = (), tolerate_degraded: bool = False) -> Verdict:
    """Reads the whole topic, folds it, and compares each instance at ``urls`` with the fold."""
    partitions, records = await asyncio.to_thread(read_topic, brokers, topic)
    model = fold_log(records, partitions)
    verdict = Verdict(topic, model, tolerated=tolerate, tolerate_degraded=tolerate_degraded)
    if dead_letters:
        check_dead_letters(model, await asyncio.to_thread(read_dead_letters, brokers, topic), verdict)
    instances = [Instance(u) for u in urls]
    try:
        await check_instances(model, instances, verdict)
    finally:
        for i in instances:
            await i.aclose()
    return verdict


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--brokers", required=True, help="Kafka bootstrap servers, e.g. 127.0.0.1:29092")
    p.add_argument("--topic", required=True)
    p.add_argument("--instance", action="append", default=[], metavar="URL",
                   help="an instance to compare (repeat for several); none: check the log alone")
    p.add_argument("--no-dead-letters", action="store_true", help="do not read <topic>.dlq")
    p.add_argument("--foreign-records", action="store_true",
                   help="the topic holds hand-written follow-ups: report, do not fail on, "
                        + ", ".join(FOREIGN_ANOMALIES))
    p.add_argument("--tolerate-degraded", action="store_true",
                   help="report, do not fail on, 503 / X-Stale answers at quiescence (each is retried)")
    p.add_argument("--json", metavar="FILE", help="also write the verdict as JSON")


def main(args: argparse.Namespace) -> int:
    verdict = asyncio.run(run_check(args.brokers, args.topic, args.instance,
                                    dead_letters=not args.no_dead_letters,
                                    tolerate=FOREIGN_ANOMALIES if args.foreign_records else (),
                                    tolerate_degraded=args.tolerate_degraded))
    print(verdict.render())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(verdict.as_json(), f, indent=1, default=str)
    return 0 if verdict.ok else 1
