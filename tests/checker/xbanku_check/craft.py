"""Hand-made logs: records placed the way xbanku places them, or deliberately not.

Used by the unit tests (folded directly) and by the live differential test (written to a real
topic, then folded both by xbanku and by the checker).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict

from .events import Event, encode
from .fold import Pos, Record
from .partitioner import partition_of


class LogBuilder:
    def __init__(self, partitions: int, seed: int = 1):
        self.partitions = partitions
        self.rng = random.Random(seed)
        self.records: list[Record] = []
        self._next: dict[int, int] = defaultdict(int)

    def account(self, partition: int | None = None) -> str:
        """A fresh account id, in ``partition`` when given."""
        while True:
            acc = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if partition is None or partition_of(acc, self.partitions) == partition:
                return acc

    def add(self, record: Event | bytes, partition: int | None = None, key: bytes | None = None) -> Pos:
        """Appends an event (placed by its AccId unless ``partition`` says otherwise) or raw
        bytes (``partition`` required); returns its position."""
        if isinstance(record, Event):
            value = encode(record)
            key = key if key is not None else record.acc_id.encode()
            if partition is None:
                partition = partition_of(record.acc_id, self.partitions)
        else:
            value = record
            if partition is None:
                raise ValueError("raw records need a partition")
        offset = self._next[partition]
        self._next[partition] += 1
        self.records.append(Record(partition, offset, key, value))
        return partition, offset

    # Shorthands for the six event types; keyword arguments go to Event (command_id, ts, ...).
    def create(self, acc: str, name: str = "n", **kw) -> Pos:
        return self.add(Event("create", acc, acc_name=name, **kw))

    def deposit(self, acc: str, amount: int, **kw) -> Pos:
        return self.add(Event("deposit", acc, amount=amount, **kw))

    def withdraw(self, acc: str, amount: int, **kw) -> Pos:
        return self.add(Event("withdraw", acc, amount=amount, **kw))

    def transfer(self, source: str, target: str, amount: int, **kw) -> Pos:
        return self.add(Event("transfer", source, target_id=target, amount=amount, **kw))

    def credit(self, target: str, source: str, amount: int, transfer_id: str, **kw) -> Pos:
        return self.add(Event("transfer_credit", target, source_id=source, amount=amount,
                              transfer_id=transfer_id, **kw))

    def refund(self, source: str, target: str, amount: int, transfer_id: str,
               reason: str = "target_not_found", **kw) -> Pos:
        return self.add(Event("transfer_refund", source, target_id=target, amount=amount,
                              transfer_id=transfer_id, reason=reason, **kw))

    def as_writes(self) -> list[tuple[int, bytes | None, bytes | None]]:
        """(partition, key, value) in append order, for topic.write_records."""
        return [(r.partition, r.key, r.value) for r in self.records]
