"""The projection rules, folded independently of xbanku (DESIGN §2, README "Idempotency keys,
transfer ids and placement").

Every rule reads and writes state of one partition only: an account's records are all in its
partition (placement), a key's scope is (partition, principal), a same-partition transfer's
target is in the partition by definition, and a credit or refund lands in the partition of the
account it names. So each partition is folded alone, in offset order; partitions meet only
through the follow-up records, which are themselves in the log. The cross-partition transfers'
final status (completed / refunded / still pending) is resolved after every partition is folded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

from .events import MAX_INT64, Event, Undecodable, decode
from .partitioner import partition_of

Pos = tuple[int, int]  # (partition, offset)


class Record(NamedTuple):
    """One record as read from the topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Account:
    id: str
    name: str
    balance: int = 0
    version: int = 0  # records applied to the account

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "balance": self.balance, "version": self.version}


@dataclass(frozen=True)
class HistoryEntry:
    """One record applied to one account, with the fields the history API shows."""

    partition: int
    offset: int
    type: str
    amount: int
    balance_after: int
    counterparty: str = ""
    command_id: str = ""
    transfer_id: str = ""
    ts: int = 0

    def as_json(self) -> dict:
        o = {"partition": self.partition, "offset": self.offset, "type": self.type,
             "amount": self.amount, "balance_after": self.balance_after}
        for k in ("counterparty", "command_id", "transfer_id", "ts"):
            if getattr(self, k):
                o[k] = getattr(self, k)
        return o


@dataclass
class Outcome:
    """The one outcome of one record.

    ``status`` is applied, rejected, pending, completed, refunded, or ``duplicate`` (the record
    changed nothing and shares the outcome at ``first``). A cross-partition transfer's status is
    its final one once the log is resolved; ``cross_partition`` says it was ``pending`` first.
    """

    pos: Pos
    status: str
    type: str = ""  # "" when the record could not be decoded
    reason: str = ""
    command_id: str = ""
    principal: str = ""
    account_id: str = ""
    account: dict | None = None  # the record's account right after the record
    transfer_id: str = ""
    source: str = ""
    target: str = ""
    amount: int = 0
    name: str = ""
    request: tuple | None = None  # what its key is bound to (None: undecodable)
    first: Pos | None = None  # duplicates: the outcome they share
    by_position: bool = False  # not reachable by its key (key reused, misplaced, key taken)
    dead_letter: bool = False
    cross_partition: bool = False
    detail: str = ""

    @property
    def changed_something(self) -> bool:
        return self.status in ("applied", "pending", "completed", "refunded")


@dataclass(frozen=True)
class Anomaly:
    """Something in the log that xbanku's own records never produce, or a follow-up missing."""

    kind: str
    pos: Pos | None
    detail: str


@dataclass
class Money:
    deposits: int = 0
    withdrawals: int = 0
    balances: int = 0
    in_flight: int = 0  # debited by a cross-partition transfer, neither credited nor refunded
    negative_accounts: int = 0

    @property
    def conserved(self) -> bool:
        return self.balances + self.in_flight == self.deposits - self.withdrawals


@dataclass
class Model:
    """What the log says: every record's outcome and the view it folds into."""

    partitions: int
    records: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    outcomes: dict[Pos, Outcome] = field(default_factory=dict)
    # (principal, command id) → the first outcome of the key in each partition that saw it.
    commands: dict[tuple[str, str], list[Outcome]] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)
    money: Money = field(default_factory=Money)

    def command(self, command_id: str, principal: str = "") -> list[Outcome]:
        return self.commands.get((principal, command_id), [])

    @property
    def dead_letters(self) -> set[Pos]:
        return {pos for pos, o in self.outcomes.items() if o.dead_letter}

    def counts(self) -> dict[str, int]:
        """Outcome counts: "applied", "rejected:insufficient_funds", "duplicate", ..."""
        out: dict[str, int] = defaultdict(int)
        for o in self.outcomes.values():
            out[f"rejected:{o.reason}" if o.status == "rejected" else o.status] += 1
        return dict(sorted(out.items()))


class _PartitionFold:
    """The state one partition's records read and write."""

    def __init__(self, partition: int, partitions: int, model: Model):
        self.p = partition
        self.partitions = partitions
        self.model = model
        self.accounts: dict[str, Account] = {}
        self.keys: dict[tuple[str, str], Outcome] = {}
        self.credits: dict[str, Outcome] = {}  # transfer id → first credit here
        self.refunds: dict[str, Outcome] = {}  # transfer id → first refund here

    def fold(self, offset: int, value: bytes | None) -> Outcome:
        pos = (self.p, offset)
        ev = decode(value)
        if isinstance(ev, Undecodable):
            return self._undecodable(pos, ev)
        o = Outcome(pos, "applied", type=ev.type, command_id=ev.command_id, principal=ev.principal,
                    account_id=ev.acc_id, amount=ev.amount, name=ev.acc_name, request=ev.request())
        if ev.type == "transfer":
            o.transfer_id, o.source, o.target = f"{self.p}-{offset}", ev.acc_id, ev.target_id
        elif ev.type == "transfer_credit":
            o.transfer_id, o.source, o.target = ev.transfer_id, ev.source_id, ev.acc_id
        elif ev.type == "transfer_refund":
            o.transfer_id, o.source, o.target = ev.transfer_id, ev.acc_id, ev.target_id

        # Placement first: a misplaced record belongs to no scope, so it takes no key.
        if partition_of(ev.acc_id, self.partitions) != self.p:
            return self._reject(o, "misplaced_record", None, by_position=True, dead_letter=True)
        if ev.command_id:
            scope = (ev.principal, ev.command_id)
            first = self.keys.get(scope)
            if first is not None:
                if first.request == o.request:
                    o.status, o.first = "duplicate", first.pos
                    return o
                return self._reject(o, "idempotency_key_reused", None, by_position=True)
            self.keys[scope] = o
        getattr(self, "_" + ev.type)(ev, o)
        return o

    def _undecodable(self, pos: Pos, ev: Undecodable) -> Outcome:
        o = Outcome(pos, "rejected", reason=ev.reason, command_id=ev.command_id, principal=ev.principal,
                    account_id=ev.acc_id, dead_letter=ev.dead_lettered, detail=ev.detail)
        if ev.reason == "invalid_amount" and partition_of(ev.acc_id, self.partitions) != self.p:
            # Everything but the amount is a well-formed event, so its account is known and
            # placement applies: a misplaced record takes no key (README, placement).
            return self._reject(o, "misplaced_record", None, by_position=True, dead_letter=True)
        if ev.command_id:
            # It takes a free key, bound to no request a valid record can repeat.
            scope = (ev.principal, ev.command_id)
            o.by_position = scope in self.keys
            self.keys.setdefault(scope, o)
        return o

    # ---- the rules ----

    def _create(self, ev: Event, o: Outcome) -> None:
        if ev.acc_id in self.accounts:
            self._reject(o, "account_exists", self.accounts[ev.acc_id])
            return
        account = self.accounts[ev.acc_id] = Account(ev.acc_id, ev.acc_name)
        self.model.accounts[ev.acc_id] = account
        self._apply(o, account, 0, ev)

    def _deposit(self, ev: Event, o: Outcome) -> None:
        account = self.accounts.get(ev.acc_id)
        if account is None:
            self._reject(o, "account_not_found", None)
        elif account.balance > MAX_INT64 - ev.amount:
            self._reject(o, "balance_overflow", account)
        else:
            self._apply(o, account, account.balance + ev.amount, ev)
            self.model.money.deposits += ev.amount

    def _withdraw(self, ev: Event, o: Outcome) -> None:
        account = self.accounts.get(ev.acc_id)
        if account is None:
            self._reject(o, "account_not_found", None)
        elif ev.amount > account.balance:
            self._reject(o, "insufficient_funds", account)
        else:
            self._apply(o, account, account.balance - ev.amount, ev)
            self.model.money.withdrawals += ev.amount

    def _transfer(self, ev: Event, o: Outcome) -> None:
        source = self.accounts.get(ev.acc_id)
        if source is None:
            self._reject(o, "account_not_found", None)
            return
        if ev.target_id == ev.acc_id:
            self._reject(o, "same_account", source)
            return
        if ev.amount > source.balance:
            self._reject(o, "insufficient_funds", source)
            return
        if partition_of(ev.target_id, self.partitions) == self.p:
            target = self.accounts.get(ev.target_id)
            if target is None:
                self._reject(o, "target_not_found", source)
            elif target.balance > MAX_INT64 - ev.amount:
                self._reject(o, "balance_overflow", source)
            else:
                self._apply(o, source, source.balance - ev.amount, ev, ev.target_id, o.transfer_id)
                self._apply(o, target, target.balance + ev.amount, ev, ev.acc_id, o.transfer_id)
                o.account = source.as_json()
                o.status = "completed"
            return
        self._apply(o, source, source.balance - ev.amount, ev, ev.target_id, o.transfer_id)
        o.status, o.cross_partition = "pending", True

    def _transfer_credit(self, ev: Event, o: Outcome) -> None:
        if ev.transfer_id in self.credits:
            o.status, o.first = "duplicate", self.credits[ev.transfer_id].pos
            return
        self.credits[ev.transfer_id] = o
        target = self.accounts.get(ev.acc_id)
        if target is None:
            self._reject(o, "target_not_found", None)
        elif target.balance > MAX_INT64 - ev.amount:
            self._reject(o, "balance_overflow", target)
        else:
            self._apply(o, target, target.balance + ev.amount, ev, ev.source_id, ev.transfer_id)
            o.status = "completed"

    def _transfer_refund(self, ev: Event, o: Outcome) -> None:
        if ev.transfer_id in self.refunds:
            o.status, o.first = "duplicate", self.refunds[ev.transfer_id].pos
            return
        self.refunds[ev.transfer_id] = o
        source = self.accounts.get(ev.acc_id)
        if source is None:
            self._reject(o, "account_not_found", None)
        elif source.balance > MAX_INT64 - ev.amount:
            self._reject(o, "balance_overflow", source)
        else:
            self._apply(o, source, source.balance + ev.amount, ev, ev.target_id, ev.transfer_id)
            o.status = "refunded"

    # ---- effects ----

    def _reject(self, o: Outcome, reason: str, account: Account | None, *, by_position=False,
                dead_letter=False) -> Outcome:
        o.status, o.reason, o.by_position, o.dead_letter = "rejected", reason, by_position, dead_letter
        o.account = account.as_json() if account else None
        return o

    def _apply(self, o: Outcome, account: Account, balance: int, ev: Event,
               counterparty: str = "", transfer_id: str = "") -> None:
        """One record applied to one account: new balance, version + 1, one history line."""
        account.balance = balance
        account.version += 1
        self.model.history.setdefault(account.id, []).append(HistoryEntry(
            self.p, o.pos[1], ev.type, ev.amount, balance, counterparty, ev.command_id,
            transfer_id, ev.ts))
        o.account = account.as_json()


def fold_log(records: Iterable[Record], partitions: int) -> Model:
    """Fold every record of a topic with ``partitions`` partitions (any order across partitions)."""
    model = Model(partitions)
    by_partition: dict[int, list[Record]] = defaultdict(list)
    for r in records:
        by_partition[r.partition].append(r)
    for p in sorted(by_partition):
        fold = _PartitionFold(p, partitions, model)
        for r in sorted(by_partition[p], key=lambda r: r.offset):
            o = fold.fold(r.offset, r.value)
            model.outcomes[o.pos] = o
            model.records += 1
        for scope, first in fold.keys.items():
            model.commands.setdefault(scope, []).append(first)
    _resolve_transfers(model)
    _count_money(model)
    return model


def _resolve_transfers(model: Model) -> None:
    """Final status of cross-partition transfers, and follow-ups that do not add up."""
    transfers = {o.transfer_id: o for o in model.outcomes.values()
                 if o.type == "transfer" and o.cross_partition}
    credits: dict[str, list[Outcome]] = defaultdict(list)
    refunds: dict[str, list[Outcome]] = defaultdict(list)
    for o in model.outcomes.values():
        if o.status == "duplicate" or o.by_position:
            continue  # changed nothing and decided nothing
        if o.type == "transfer_credit":
            credits[o.transfer_id].append(o)
        elif o.type == "transfer_refund":
            refunds[o.transfer_id].append(o)

    def matches(follow_up: Outcome, transfer: Outcome | None) -> bool:
        return transfer is not None and (follow_up.source, follow_up.target, follow_up.amount) == (
            transfer.source, transfer.target, transfer.amount)

    for tid, cs in credits.items():
        for c in cs:
            if not matches(c, transfers.get(tid)):
                model.anomalies.append(Anomaly("credit_without_transfer", c.pos,
                                               f"credit {tid} names no matching pending transfer"))
    for tid, rs in refunds.items():
        for r in rs:
            failed = [c for c in credits.get(tid, []) if c.status == "rejected"]
            if not matches(r, transfers.get(tid)) or not failed:
                model.anomalies.append(Anomaly("refund_without_failed_credit", r.pos,
                                               f"refund {tid} names no transfer whose credit failed"))
            elif r.status == "rejected":
                model.anomalies.append(Anomaly("refund_rejected", r.pos,
                                               f"refund {tid} rejected {r.reason}: the money is held"))
    for tid, t in transfers.items():
        landed = [c for c in credits.get(tid, []) if c.status == "completed"]
        failed = [c for c in credits.get(tid, []) if c.status == "rejected"]
        back = [r for r in refunds.get(tid, []) if r.status == "refunded"]
        if landed:
            t.status = "completed"
        elif back:
            t.status = "refunded"
        else:
            model.money.in_flight += t.amount
        if not credits.get(tid):
            model.anomalies.append(Anomaly("credit_missing", t.pos, f"transfer {tid} has no credit record"))
        elif failed and not refunds.get(tid):
            model.anomalies.append(Anomaly("refund_missing", failed[0].pos,
                                           f"transfer {tid}: credit failed, no refund record"))


def _count_money(model: Model) -> None:
    model.money.balances = sum(a.balance for a in model.accounts.values())
    model.money.negative_accounts = sum(1 for a in model.accounts.values() if a.balance < 0)
    if not model.money.conserved:
        m = model.money
        model.anomalies.append(Anomaly(
            "money_not_conserved", None,
            f"balances {m.balances} + in flight {m.in_flight} != deposits {m.deposits} - withdrawals {m.withdrawals}"))

