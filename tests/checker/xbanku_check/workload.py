"""A Jepsen-style bank workload: concurrent deposits, withdrawals, same- and cross-partition
transfers, retries under one Idempotency-Key, and keys reused for other requests, against one or
several instances over HTTP and WebSocket. Bounded in operations and in time, loopback only.

Every operation and its answer go into a :class:`History`; ``invariants.check_bank`` judges it
against the log afterwards. Faults are someone else's job: a nemesis driver runs
:meth:`BankWorkload.run` beside its own task and passes ``stop`` to end it early.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field

import httpx

from .partitioner import partition_of
from .transport import Answer, Command, HttpTransport, WsTransport


@dataclass
class WorkloadConfig:
    accounts: int = 24
    initial_balance: int = 10_000
    ops: int = 2_000  # bound in operations (setup not counted)
    duration: float = 60.0  # bound in seconds
    concurrency: int = 8  # workers, each with one operation in flight
    seed: int = 1
    max_amount: int = 600
    mix: dict = field(default_factory=lambda: {"deposit": 3, "withdraw": 3, "transfer_same": 2, "transfer_cross": 3})
    odd_rate: float = 0.04  # unknown accounts, transfers to self: rejections and refunds
    retry_rate: float = 0.12  # an earlier request again, same key (maybe another instance/transport)
    twin_rate: float = 0.04  # a request sent twice at once with one key, to two instances
    reuse_rate: float = 0.04  # a used key for another request on the same account: 422
    cross_reuse_rate: float = 0.02  # a used key for a request in another partition: either answer
    ws_rate: float = 0.25  # share of commands sent over WebSocket
    nowait_rate: float = 0.05  # share sent with wait=false: 202 once Kafka has it
    request_timeout: float = 15.0


@dataclass
class Op:
    n: int
    purpose: str  # setup | fresh | retry | twin | reuse | cross_reuse
    command: Command
    key: str
    via: str
    transport: str  # http | ws
    start: float
    end: float = 0.0
    answer: Answer | None = None
    of: int | None = None  # retries and reuses: the operation whose key they repeat
    wait: bool = True  # False: sent with wait=false (answered 202 once Kafka has it)

    @property
    def latency(self) -> float:
        return self.end - self.start

    def as_json(self) -> dict:
        return asdict(self) | {"command": asdict(self.command), "answer": asdict(self.answer) if self.answer else None}


@dataclass
class History:
    config: WorkloadConfig
    urls: list[str]
    partitions: int
    accounts: list[str]
    ghosts: list[str]  # ids never created
    ops: list[Op] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def summary(self) -> dict[str, int]:
        c = Counter(f"{o.purpose}:{o.command.kind}:{o.answer.verdict if o.answer else 'none'}" for o in self.ops)
        return dict(sorted(c.items()))

    def latencies(self, purpose_not: str = "setup") -> list[float]:
        return sorted(o.latency for o in self.ops if o.purpose != purpose_not and o.answer)


class BankWorkload:
    def __init__(self, config: WorkloadConfig, urls: list[str], partitions: int):
        self.cfg, self.urls, self.partitions = config, list(urls), partitions
        self.rng = random.Random(config.seed)
        self.run_id = secrets.token_hex(3)
        self.client = httpx.AsyncClient(timeout=config.request_timeout,
                                        limits=httpx.Limits(max_connections=4 * config.concurrency))
        self.http = HttpTransport(self.client)
        self.ws = WsTransport(config.request_timeout)
        accounts = [self._account_in(i % partitions) for i in range(config.accounts)]
        ghosts = [self._account_in(i % partitions) for i in range(min(partitions, 4))]
        self.history = History(config, self.urls, partitions, accounts, ghosts)
        self.by_partition: dict[int, list[str]] = {}
        for a in accounts:
            self.by_partition.setdefault(partition_of(a, partitions), []).append(a)
        self._n = 0
        self._keys = itertools.count(1)

    def _account_in(self, partition: int) -> str:
        while True:
            acc = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if partition_of(acc, self.partitions) == partition:
                return acc

    # ---- sending ----

    async def _send(self, purpose: str, cmd: Command, key: str, of: int | None = None,
                    via: str | None = None) -> Op:
        self._n += 1
        ws = self.rng.random() < self.cfg.ws_rate
        wait = purpose == "setup" or self.rng.random() >= self.cfg.nowait_rate
        op = Op(self._n, purpose, cmd, key, via or self.rng.choice(self.urls), "ws" if ws else "http",
                time.monotonic(), of=of, wait=wait)
        self.history.ops.append(op)
        op.answer = await (self.ws if ws else self.http).send(op.via, cmd, key, wait)
        op.end = time.monotonic()
        return op

    async def _until_decided(self, cmd: Command, key: str) -> Op:
        """Setup commands are retried (same key) until an answer says what happened."""
        for _ in range(20):
            op = await self._send("setup", cmd, key)
            if op.answer.verdict in ("ok", "rejected"):
                return op
            await asyncio.sleep(0.5)
        raise RuntimeError(f"setup command {cmd} never decided; last answer {op.answer}")

    async def setup(self) -> None:
        async def one(i: int, acc: str) -> None:
            # Every third name needs trimming and is not ASCII: the view keeps the trimmed name.
            name = f"  Zoë Ω {i}\t" if i % 3 == 0 else f"acct-{i}"
            await self._until_decided(Command("create", acc, name=name), f"{self.run_id}-create-{i}")
            await self._until_decided(Command("deposit", acc, amount=self.cfg.initial_balance),
                                      f"{self.run_id}-seed-{i}")
        gate = asyncio.Semaphore(self.cfg.concurrency)

        async def gated(i: int, acc: str) -> None:
            async with gate:
                await one(i, acc)
        await asyncio.gather(*(gated(i, a) for i, a in enumerate(self.history.accounts)))

    # ---- choosing what to send ----

    def _fresh(self) -> Command:
        r, amount = self.rng, self.rng.randint(1, self.cfg.max_amount)
        if r.random() < self.cfg.odd_rate:
            acc, ghost = r.choice(self.history.accounts), r.choice(self.history.ghosts)
            return r.choice([Command("deposit", ghost, amount=amount), Command("withdraw", ghost, amount=amount),
                             Command("transfer", acc, ghost, amount), Command("transfer", acc, acc, amount),
                             Command("create", "", name=f"late {amount}")])  # the id comes from the key
        kinds, weights = zip(*self.cfg.mix.items())
        kind = r.choices(kinds, weights)[0]
        if kind in ("deposit", "withdraw"):
            return Command(kind, r.choice(self.history.accounts), amount=amount)
        source = r.choice(self.history.accounts)
        home = partition_of(source, self.partitions)
        if kind == "transfer_same":
            pool = [a for a in self.by_partition[home] if a != source] or self.history.accounts
        else:
            pool = [a for a in self.history.accounts if partition_of(a, self.partitions) != home]
        return Command("transfer", source, r.choice(pool), amount)

    def _earlier(self, want=lambda op: True) -> Op | None:
        recent = [o for o in self.history.ops[-200:] if o.purpose in ("fresh", "setup") and want(o)]
        return self.rng.choice(recent) if recent else None

    def _other_request(self, op: Op) -> Command:
        """Another request naming the same first account (so the same scope)."""
        c = op.command
        if not c.account:  # a create without id: the same key and another name is another request
            return Command("create", "", name=c.name + " again")
        if c.kind == "deposit":
            return Command("withdraw", c.account, amount=c.amount)
        if c.kind == "withdraw":
            return Command("deposit", c.account, amount=c.amount + 1)
        if c.kind == "transfer":
            return Command("transfer", c.account, c.target, c.amount + 1)
        return Command("create", c.account, name=c.name + "-again")

    def _foreign_request(self, op: Op) -> Command:
        home = partition_of(op.command.account, self.partitions)
        others = [a for a in self.history.accounts if partition_of(a, self.partitions) != home]
        return Command("deposit", self.rng.choice(others), amount=self.rng.randint(1, self.cfg.max_amount))

    async def _one(self) -> None:
        cfg, r = self.cfg, self.rng.random()
        decided = lambda o: o.answer is not None and o.answer.verdict in ("ok", "rejected")
        if r < cfg.retry_rate and (op := self._earlier()):
            await self._send("retry", op.command, op.key, of=op.n)
        elif r < cfg.retry_rate + cfg.reuse_rate and (op := self._earlier(decided)):
            await self._send("reuse", self._other_request(op), op.key, of=op.n)
        elif r < cfg.retry_rate + cfg.reuse_rate + cfg.cross_reuse_rate and (op := self._earlier(decided)):
            await self._send("cross_reuse", self._foreign_request(op), op.key, of=op.n)
        elif r < cfg.retry_rate + cfg.reuse_rate + cfg.cross_reuse_rate + cfg.twin_rate:
            cmd, key = self._fresh(), self._key()
            first, second = self.rng.sample(self.urls * 2 if len(self.urls) == 1 else self.urls, 2)
            await asyncio.gather(self._send("fresh", cmd, key, via=first), self._send("twin", cmd, key, via=second))
        else:
            await self._send("fresh", self._fresh(), self._key())

    def _key(self) -> str:
        return f"{self.run_id}-k{next(self._keys)}"

    async def run(self, stop: asyncio.Event | None = None) -> History:
        """Setup, then operations until the count or the time bound (or ``stop``)."""
        stop = stop or asyncio.Event()
        self.history.started = time.monotonic()
        try:
            await self.setup()
            deadline = time.monotonic() + self.cfg.duration
            budget = [self.cfg.ops]

            async def worker() -> None:
                while budget[0] > 0 and time.monotonic() < deadline and not stop.is_set():
                    budget[0] -= 1
                    await self._one()
            await asyncio.gather(*(worker() for _ in range(self.cfg.concurrency)))
        finally:
            self.history.ended = time.monotonic()
            await self.ws.close()
            await self.client.aclose()
        return self.history
