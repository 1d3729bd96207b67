"""Compares what instances answer with what the log says (the fold), and gives a verdict.

Every difference is a :class:`Mismatch` naming the instance, what was compared, its subject, and
both values, so a reader can reproduce it with one curl. Log anomalies (follow-ups that do not add
up, money not conserved, dead letters missing) fail the verdict too: xbanku wrote the log.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field

from .api import Instance
from .fold import Anomaly, Model, Outcome
from .topic import DeadLetter

HISTORY_FIELDS = ("partition", "offset", "type", "amount", "balance_after", "counterparty",
                  "command_id", "transfer_id", "ts")


@dataclass(frozen=True)
class Mismatch:
    instance: str
    what: str
    subject: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return (f"[{self.instance}] {self.what} {self.subject}: expected {_short(self.expected)}, "
                f"got {_short(self.actual)}")


def _short(v: object, limit: int = 300) -> str:
    s = json.dumps(v, sort_keys=True, default=str) if not isinstance(v, str) else v
    return s if len(s) <= limit else s[:limit] + "..."


@dataclass
class Verdict:
    topic: str
    model: Model
    compared: Counter = field(default_factory=Counter)
    mismatches: list[Mismatch] = field(default_factory=list)
    multi_scope_keys: int = 0  # keys used in several scopes: GET /commands shows one of them
    tolerated: tuple[str, ...] = ()  # anomaly kinds that do not fail (hand-written logs)
    # Per instance: answers that were 503 or X-Stale although every partition had a serving
    # owner (each was retried until it was not). They fail the verdict unless tolerated.
    degraded: dict[str, int] = field(default_factory=dict)
    tolerate_degraded: bool = False

    @property
    def failing_anomalies(self) -> list[Anomaly]:
        return [a for a in self.model.anomalies if a.kind not in self.tolerated]

    @property
    def ok(self) -> bool:
        return (not self.mismatches and not self.failing_anomalies
                and (self.tolerate_degraded or not any(self.degraded.values())))

    def render(self, limit: int = 40) -> str:
        m = self.model
        lines = [
            f"checker: topic {self.topic}: {m.records} records in {m.partitions} partitions, "
            f"{len(m.accounts)} accounts, {sum(len(v) for v in m.commands.values())} command keys",
            "  outcomes: " + ", ".join(f"{k} {v}" for k, v in m.counts().items()),
            f"  money: deposits {m.money.deposits} - withdrawals {m.money.withdrawals} = "
            f"{m.money.deposits - m.money.withdrawals}; balances {m.money.balances}; in flight "
            f"{m.money.in_flight}; negative balances {m.money.negative_accounts}",
            "  compared: " + (", ".join(f"{k} {v}" for k, v in sorted(self.compared.items())) or "nothing"),
        ]
        if self.multi_scope_keys:
            lines.append(f"  note: {self.multi_scope_keys} keys were used in several scopes "
                         "(GET /commands answers one of them)")
        for a in m.anomalies:
            tag = "tolerated" if a.kind in self.tolerated else "ANOMALY"
            lines.append(f"  {tag} {a.kind} at {a.pos}: {a.detail}")
        for url, n in self.degraded.items():
            if n:
                tag = "tolerated" if self.tolerate_degraded else "DEGRADED"
                lines.append(f"  {tag} [{url}] {n} answers were 503 or X-Stale at quiescence (each retried)")
        for x in self.mismatches[:limit]:
            lines.append(f"  MISMATCH {x}")
        if len(self.mismatches) > limit:
            lines.append(f"  ... and {len(self.mismatches) - limit} more mismatches")
        lines.append(f"VERDICT: {'PASS' if self.ok else 'FAIL'} ({len(self.mismatches)} mismatches, "
                     f"{len(self.failing_anomalies)} anomalies)")
        return "\n".join(lines)

    def as_json(self) -> dict:
        m = self.model
        return {
            "topic": self.topic, "records": m.records, "partitions": m.partitions,
            "accounts": len(m.accounts), "outcomes": m.counts(), "compared": dict(self.compared),
            "money": vars(m.money) | {"conserved": m.money.conserved},
            "anomalies": [vars(a) for a in m.anomalies],
            "mismatches": [vars(x) for x in self.mismatches], "degraded": self.degraded, "ok": self.ok,
        }


def expected_command(o: Outcome) -> dict:
    """The fields of GET /commands/{id} that the log decides, for the outcome ``o``."""
    e: dict = {"status": o.status, "partition": o.pos[0], "offset": o.pos[1]}
    if o.reason:
        e["reason"] = o.reason
    if o.type:  # an undecodable record has no type the contract could name
        e["type"] = o.type
    for api_name, value in (("account_id", o.account_id), ("transfer_id", o.transfer_id),
                            ("from", o.source), ("to", o.target), ("amount", o.amount), ("name", o.name)):
        if value:
            e[api_name] = value
    if o.changed_something:
        e["account"] = o.account
    return e


def command_differences(expected: dict, actual: dict) -> dict:
    """Fields where ``actual`` (an API answer) differs from ``expected``; absent means absent."""
    keys = set(expected) | {k for k in ("reason", "transfer_id", "from", "to", "amount", "name") if k in actual}
    if "account" not in expected:
        keys.discard("account")
    return {k: (expected.get(k), actual.get(k)) for k in sorted(keys) if expected.get(k) != actual.get(k)}


def history_rows(events: list[dict]) -> list[dict]:
    return [{k: e[k] for k in HISTORY_FIELDS if k in e} for e in events]


def queryable(command_id: str) -> bool:
    """The API takes keys of 1-128 printable ASCII characters without spaces."""
    return 1 <= len(command_id) <= 128 and all("!" <= c <= "~" for c in command_id)


class _InstanceCheck:
    def __init__(self, model: Model, instance: Instance, verdict: Verdict, concurrency: int):
        self.model, self.instance, self.verdict = model, instance, verdict
        self.gate = asyncio.Semaphore(concurrency)

    def mismatch(self, what: str, subject: str, expected: object, actual: object) -> None:
        self.verdict.mismatches.append(Mismatch(str(self.instance), what, subject, expected, actual))

    async def run(self) -> None:
        await self.accounts()
        accounts = sorted(self.model.accounts)
        await asyncio.gather(*(self.account(a) for a in accounts))
        # Every third history is read 7 entries a page, so that paging is compared too.
        await asyncio.gather(*(self.history(a, 7 if i % 3 == 0 else 1000) for i, a in enumerate(accounts)))
        await self.absent_account()
        keys = [k for (principal, k) in self.model.commands if principal == ""]
        await asyncio.gather(*(self.command(k) for k in keys))
        credits = first_credits(self.model)
        await asyncio.gather(*(self.transfer(o, credits.get(o.transfer_id)) for o in self.model.outcomes.values()
                               if o.type == "transfer" and o.cross_partition))
        self.verdict.degraded[str(self.instance)] = self.instance.degraded

    async def accounts(self) -> None:
        listed = await self.instance.all_accounts()
        self.verdict.compared["account list"] += 1
        if len(listed) <= 5_000:
            self.verdict.compared["account list, 7 a page"] += 1
            paged = await self.instance.all_accounts(page=7)
            if paged != listed:
                self.mismatch("accounts", "paging", f"{len(listed)} accounts as with limit=1000",
                              f"{len(paged)} accounts, first difference "
                              f"{next((b for a, b in zip(listed, paged) if a != b), 'at the end')}")
        by_id = {a["id"]: a for a in listed}
        if len(by_id) != len(listed):
            self.mismatch("accounts", "list", "each id once", f"{len(listed) - len(by_id)} repeated")
        if [a["id"] for a in listed] != sorted(by_id):
            self.mismatch("accounts", "list", "sorted by id", "out of order")
        for acc_id, a in self.model.accounts.items():
            if by_id.get(acc_id) != a.as_json():
                self.mismatch("accounts", acc_id, a.as_json(), by_id.get(acc_id, "absent"))
        for acc_id in by_id.keys() - self.model.accounts.keys():
            self.mismatch("accounts", acc_id, "absent", by_id[acc_id])

    async def account(self, acc_id: str) -> None:
        async with self.gate:
            r = await self.instance.account(acc_id)
        self.verdict.compared["GET /accounts/{id}"] += 1
        expected = self.model.accounts[acc_id].as_json()
        actual = r.json() if r.status_code == 200 else f"HTTP {r.status_code} {r.text[:200]}"
        if actual != expected:
            self.mismatch("account", acc_id, expected, actual)

    async def absent_account(self) -> None:
        ghost = str(uuid.uuid4())
        r = await self.instance.account(ghost)
        self.verdict.compared["GET /accounts/{unknown}"] += 1
        if r.status_code != 404:
            self.mismatch("account", ghost, "HTTP 404", f"HTTP {r.status_code}")

    async def history(self, acc_id: str, page: int) -> None:
        async with self.gate:
            events = await self.instance.history(acc_id, page)
        self.verdict.compared["history"] += 1
        expected = [h.as_json() for h in self.model.history.get(acc_id, [])]
        actual = history_rows(events) if events is not None else "HTTP 404"
        if actual == expected:
            return
        if isinstance(actual, str):
            self.mismatch("history", acc_id, f"{len(expected)} entries", actual)
            return
        i = next((i for i, (x, y) in enumerate(zip(expected, actual)) if x != y), min(len(expected), len(actual)))
        self.mismatch("history", f"{acc_id} entry {i}", expected[i] if i < len(expected) else "absent",
                      actual[i] if i < len(actual) else f"absent ({len(actual)} of {len(expected)} entries)")

    async def command(self, key: str) -> None:
        scopes = self.model.command(key)
        if not queryable(key):
            self.verdict.compared["keys the API cannot name"] += 1
            return
        async with self.gate:
            r = await self.instance.command(key)
        self.verdict.compared["GET /commands/{id}"] += 1
        if r.status_code != 200:
            self.mismatch("command", key, expected_command(scopes[0]), f"HTTP {r.status_code} {r.text[:200]}")
            return
        actual = r.json()
        diffs = [command_differences(expected_command(o), actual) for o in scopes]
        if not min(diffs, key=len):
            return
        self.mismatch("command", key, expected_command(scopes[0]), {k: v[1] for k, v in diffs[0].items()})


    async def transfer(self, t: Outcome, credit: Outcome | None) -> None:
        """The target side of a cross-partition transfer (GET /transfers/{id}?to=)."""
        async with self.gate:
            r = await self.instance.transfer(t.transfer_id, t.target)
        self.verdict.compared["GET /transfers/{id}"] += 1
        expected = ("HTTP 404" if credit is None else "completed" if credit.status == "completed"
                    else "credit_failed")
        actual = r.json().get("status") if r.status_code == 200 else f"HTTP {r.status_code}"
        if actual != expected:
            self.mismatch("transfer", t.transfer_id, expected, actual)


def first_credits(model: Model) -> dict[str, Outcome]:
    """Transfer id → the credit that decided it, in its target's partition."""
    return {o.transfer_id: o for o in model.outcomes.values()
            if o.type == "transfer_credit" and o.status != "duplicate" and not o.by_position}


def check_dead_letters(model: Model, letters: list[DeadLetter], verdict: Verdict) -> None:
    """Each malformed, unknown-type and misplaced record is in ``<topic>.dlq`` (at least once:
    a crash between sending a letter and committing may send it again), and nothing else is."""
    seen = Counter(letter.origin for letter in letters)
    verdict.compared["dead letters"] += len(letters)
    for pos in sorted(model.dead_letters - seen.keys()):
        verdict.mismatches.append(Mismatch("log", "dead letter", f"{pos}", model.outcomes[pos].reason, "missing"))
    for origin in sorted(seen.keys() - model.dead_letters, key=str):
        verdict.mismatches.append(Mismatch("log", "dead letter", f"{origin}", "none", "unexpected letter"))


async def check_instances(model: Model, instances: list[Instance], verdict: Verdict,
                          concurrency: int = 16) -> None:
    """Adds every instance's differences from ``model`` to ``verdict``."""
    for instance in instances:
        await _InstanceCheck(model, instance, verdict, concurrency).run()
    verdict.multi_scope_keys = sum(1 for scopes in model.commands.values() if len(scopes) > 1)
