"""The raw topic, through kafka-python (pure Python: no librdkafka, nothing shared with xbanku).

Reading takes a snapshot: every partition from its first offset up to the end offset the broker
reports when the read starts, so a checker run is about one well-defined prefix of the log.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from .fold import Record


@dataclass(frozen=True)
class DeadLetter:
    """A record of ``<topic>.dlq``: where it came from and why (xbanku's headers)."""

    origin: tuple[int, int] | None
    reason: str
    value: bytes | None


def _consumer(brokers: str) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False, group_id=None,
                         auto_offset_reset="earliest", client_id="xbanku-checker")


def partition_count(brokers: str, topic: str, timeout: float = 10.0) -> int:
    with closing(_consumer(brokers)) as c:
        return len(_partitions(c, topic, timeout))


def _partitions(c: KafkaConsumer, topic: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        parts = c.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        if time.monotonic() > deadline:
            raise LookupError(f"topic {topic!r} not found")
        time.sleep(0.2)


def _read(brokers: str, topic: str, timeout: float, discover: float = 10.0):
    """Yields every record of every partition below the end offsets seen at the start."""
    with closing(_consumer(brokers)) as c:
        tps = [TopicPartition(topic, p) for p in _partitions(c, topic, discover)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic!r} took over {timeout} s")
            for tp, messages in c.poll(timeout_ms=500).items():
                yield from (m for m in messages if m.offset < end[tp])


def read_topic(brokers: str, topic: str, timeout: float = 120.0) -> tuple[int, list[Record]]:
    """(partition count, every record) of ``topic``."""
    partitions = partition_count(brokers, topic)
    records = [Record(m.partition, m.offset, m.key, m.value) for m in _read(brokers, topic, timeout)]
    return partitions, records


def read_dead_letters(brokers: str, topic: str, timeout: float = 60.0) -> list[DeadLetter]:
    """Every letter in ``<topic>.dlq`` (empty when xbanku never created it)."""
    try:
        messages = list(_read(brokers, topic + ".dlq", timeout, discover=2.0))
    except LookupError:
        return []
    out = []
    for m in messages:
        h = {k: v.decode(errors="replace") for k, v in (m.headers or [])}
        origin = None
        if "xbanku-origin-partition" in h and "xbanku-origin-offset" in h:
            origin = (int(h["xbanku-origin-partition"]), int(h["xbanku-origin-offset"]))
        out.append(DeadLetter(origin, h.get("xbanku-reason", ""), m.value))
    return out


def end_offsets(brokers: str, topic: str) -> dict[int, int]:
    with closing(_consumer(brokers)) as c:
        tps = [TopicPartition(topic, p) for p in _partitions(c, topic, 10.0)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}


def create_topic(brokers: str, topic: str, partitions: int) -> None:
    with closing(KafkaAdminClient(bootstrap_servers=brokers, client_id="xbanku-checker")) as admin:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    deadline = time.monotonic() + 30
    while partition_count(brokers, topic) != partitions:
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic!r} not ready")
        time.sleep(0.2)


def write_records(brokers: str, topic: str, records: list[tuple[int, bytes | None, bytes | None]]) -> list[tuple[int, int]]:
    """Writes (partition, key, value) records in order, each to the partition it names; returns
    their positions. Hand-made logs choose partitions themselves (placement is what is tested)."""
    with closing(KafkaProducer(bootstrap_servers=brokers, acks="all", client_id="xbanku-checker",
                               max_in_flight_requests_per_connection=1)) as producer:
        futures = [producer.send(topic, key=k, value=v, partition=p) for p, k, v in records]
        producer.flush()
        return [(md.partition, md.offset) for md in (f.get(timeout=30) for f in futures)]
