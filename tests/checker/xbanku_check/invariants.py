"""The bank workload's invariants, judged at quiescence against the log (the checker's fold) and
against what every instance answers:

* every acknowledged command (2xx) is in the log, first under its key in its scope, applied,
  and its answer is the log's outcome (a retry's answer too);
* every rule rejection (404/409) is the log's outcome for that request;
* every answer that names a position (202 accepted, 504 pending) names this command's record;
* every refusal tells the truth: a 422 ``idempotency_key_reused`` or a "not written" answer
  leaves no applied record of that request;
* money: the workload's accounts hold what the acknowledged deposits and withdrawals allow
  (commands with unknown fate widen the bound), and the log's deposits - withdrawals equal
  the sum of balances; no balance is negative;
* every instance answers every account alike, and like the log (the checker's verdict);
* a "*" subscriber on each instance saw every change of every account, once, in order
  (subscriptions.py);
* ``--act=verify`` exits 0 on each stopped instance; the Redis mirror equals the view.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

import redis

from .api import Instance
from .check import run_check
from .compare import Verdict
from .fold import Model, Outcome
from .partitioner import partition_of
from .subscriptions import Subscription, judge_updates
from .transport import NOT_WRITTEN
from .workload import History, Op


@dataclass(frozen=True)
class Finding:
    invariant: str
    detail: str
    op: int | None = None

    def __str__(self) -> str:
        return f"{self.invariant}{f' (op {self.op})' if self.op else ''}: {self.detail}"


@dataclass
class BankReport:
    history: History
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    verified: dict[str, int] = field(default_factory=dict)  # instance → --act=verify status
    resolved_unknown: dict[str, int] = field(default_factory=dict)
    updates: dict[str, int] = field(default_factory=dict)  # subscriber → updates received

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.findings and all(s == 0 for s in self.verified.values())

    def render(self) -> str:
        h = self.history
        lat = h.latencies()
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0
        ops = [o for o in h.ops if o.purpose != "setup"]
        lines = [
            f"bank: {len(ops)} operations (+{len(h.ops) - len(ops)} setup) in {h.ended - h.started:.1f} s "
            f"against {len(h.urls)} instance(s), {len(h.accounts)} accounts in {h.partitions} partitions",
            f"  latency ms: p50 {pick(0.5):.1f}, p99 {pick(0.99):.1f}, max {pick(1.0):.1f}",
            "  answers: " + ", ".join(f"{k} {v}" for k, v in h.summary().items()),
        ]
        if self.resolved_unknown:
            lines.append("  unknown-fate commands, per the log: "
                         + ", ".join(f"{k} {v}" for k, v in self.resolved_unknown.items()))
        if self.updates:
            lines.append("  subscriptions: " + ", ".join(f"{u} updates on {url}" for url, u in self.updates.items()))
        lines.append(self.verdict.render())
        for name, status in self.verified.items():
            lines.append(f"  --act=verify {name}: exit {status}")
        for f in self.findings:
            lines.append(f"  VIOLATION {f}")
        lines.append(f"BANK: {'PASS' if self.ok else 'FAIL'} ({len(self.findings)} violations)")
        return "\n".join(lines)


def same_request(o: Outcome, op: Op) -> bool:
    """Whether the record ``o`` is the request ``op`` sent (an id-less create is bound to its
    name: the server derives the id from the key)."""
    if op.command.kind == "create" and not op.command.account:
        return o.type == "create" and o.name == op.command.request()[4]
    return o.request == op.command.request()


class _Judge:
    def __init__(self, history: History, model: Model):
        self.h, self.model = history, model
        self.findings: list[Finding] = []
        self.records: dict[str, list[Outcome]] = defaultdict(list)
        for o in model.outcomes.values():
            if o.command_id and o.principal == "":
                self.records[o.command_id].append(o)

    def fail(self, invariant: str, detail: str, op: Op | None = None) -> None:
        self.findings.append(Finding(invariant, detail, op.n if op else None))

    def first_in_scope(self, op: Op) -> Outcome | None:
        home = partition_of(op.command.account, self.model.partitions)
        return next((o for o in self.model.command(op.key) if o.pos[0] == home), None)

    def decided_records(self, op: Op) -> list[Outcome]:
        """Records of this op's request that were decided (first under the key in their scope)."""
        return [o for o in self.records[op.key] if o.request == op.command.request()
                and o.status != "duplicate" and not o.by_position]

    def judge(self, op: Op) -> None:
        verdict = op.answer.verdict
        if op.answer.position is not None:
            self.positioned(op)
        if op.command.kind == "create" and not op.command.account:
            self.keyed_create(op)
        elif verdict == "ok":
            self.acknowledged(op)
        elif verdict == "rejected":
            self.rejected(op)
        elif verdict == "refused":
            self.refused(op)

    def acknowledged(self, op: Op) -> None:
        first = self.first_in_scope(op)
        if first is None:
            return self.fail("acknowledged-is-durable", f"{op.answer.status} for key {op.key}, no record of it", op)
        if first.request != op.command.request():
            return self.fail("acknowledged-is-true", f"{op.answer.status} for {op.command}, but key {op.key} "
                             f"first asked for {first.request} at {first.pos}", op)
        if not first.changed_something:
            return self.fail("acknowledged-is-true", f"{op.answer.status}, but the log says {first.reason} at {first.pos}", op)
        body, expected_status = op.answer.body or {}, 201 if op.command.kind == "create" else 200
        if op.answer.status != expected_status:
            self.fail("answer-matches-log", f"HTTP {op.answer.status}, expected {expected_status}", op)
        if op.command.kind != "transfer":
            if body != first.account:
                self.fail("answer-matches-log", f"answered {body}, the log's outcome is {first.account} at {first.pos}", op)
            return
        said = body.get("status")
        allowed = {first.status} | ({"pending"} if first.cross_partition else set())
        if body.get("transfer_id") != first.transfer_id or said not in allowed:
            self.fail("answer-matches-log", f"answered {body}, the log says transfer {first.transfer_id} "
                      f"{first.status} at {first.pos}", op)

    def keyed_create(self, op: Op) -> None:
        """A create that names no id gets one derived from its key (README), so all its records
        name one account, and retries answer the first outcome."""
        records = [o for o in self.records[op.key] if same_request(o, op)]
        ids = {o.account_id for o in records}
        if len(ids) > 1:
            self.fail("keyed-create-is-stable", f"key {op.key} created under several ids {sorted(ids)}", op)
        first = next((o for o in records if o.status != "duplicate" and not o.by_position), None)
        if op.answer.verdict == "ok":
            if first is None:
                self.fail("acknowledged-is-durable", f"created without a record (key {op.key})", op)
            elif op.answer.body != first.account:
                self.fail("answer-matches-log", f"answered {op.answer.body}, the log {first.account}", op)
        elif op.answer.status == 422 and first is not None and first.changed_something:
            self.fail("refusal-is-true", f"answered 422, but {first.pos} created {first.account_id}", op)

    def positioned(self, op: Op) -> None:
        o = self.model.outcomes.get(op.answer.position)
        if o is None or o.command_id != op.key or not same_request(o, op):
            seen = f"{o.command_id!r} {o.request}" if o else "nothing"
            self.fail("accepted-is-durable", f"answered {op.answer.status} at {op.answer.position}, "
                      f"the log has {seen} there", op)

    def rejected(self, op: Op) -> None:
        first = self.first_in_scope(op)
        if first is None or first.request != op.command.request() or first.reason != op.answer.code:
            seen = f"{first.status} {first.reason} {first.request} at {first.pos}" if first else "no record"
            self.fail("rejection-matches-log", f"answered {op.answer.status} {op.answer.code}, the log has {seen}", op)

    def refused(self, op: Op) -> None:
        decided = self.decided_records(op)
        applied = [o for o in decided if o.changed_something]
        if op.answer.status == 422 and applied:
            self.fail("refusal-is-true", f"answered 422 idempotency_key_reused, but the log applied "
                      f"{op.command} under key {op.key} at {applied[0].pos} ({applied[0].status})", op)
        elif op.answer.code in NOT_WRITTEN and decided and not self.others_may_have_written(op):
            self.fail("refusal-is-true", f"answered {op.answer.code} (not written), but {decided[0].pos} holds it", op)

    def others_may_have_written(self, op: Op) -> bool:
        return any(o is not op and o.key == op.key and o.command == op.command
                   and not (o.answer and o.answer.code in NOT_WRITTEN) for o in self.h.ops)

    def unknown_fates(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for op in self.h.ops:
            if op.answer and op.answer.verdict in ("info", "accepted"):
                out["applied" if any(o.changed_something for o in self.decided_records(op)) else "not applied"] += 1
        return dict(out)

    def money(self, balances: dict[str, int]) -> None:
        """Client-side bound, from the answers alone: each (key, request) counts once, as
        acknowledged if any answer acknowledged it, as nothing if a rule rejected it, and as
        unknown if no answer said (a deposit may then have happened, or a withdrawal)."""
        fates: dict[tuple, set[str]] = defaultdict(set)
        for op in self.h.ops:
            if op.command.kind in ("deposit", "withdraw") and op.answer:
                fates[(op.key, op.command)].add(op.answer.verdict)
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for (_, cmd), seen in fates.items():
            fate = ("ok" if "ok" in seen else "none" if "rejected" in seen
                    else "info" if seen & {"info", "accepted"} else "none")
            sums[(cmd.kind, fate)] += cmd.amount
        low = sums[("deposit", "ok")] - sums[("withdraw", "ok")] - sums[("withdraw", "info")]
        high = sums[("deposit", "ok")] + sums[("deposit", "info")] - sums[("withdraw", "ok")]
        held = sum(balances.get(a, 0) for a in self.h.accounts + self.h.ghosts)
        if not low <= held <= high:
            self.fail("money-bound", f"the workload's accounts hold {held}, the answers allow [{low}, {high}]")
        negative = {a: b for a, b in balances.items() if b < 0}
        if negative:
            self.fail("no-negative-balance", f"{len(negative)} accounts below zero: {list(negative.items())[:5]}")


async def _instances_agree(urls: list[str]) -> tuple[dict[str, int], list[Finding]]:
    """Every instance's account list must be the same. Returns the first one's balances."""
    lists = []
    for url in urls:
        instance = Instance(url)
        try:
            lists.append(await instance.all_accounts())
        finally:
            await instance.aclose()
    findings = []
    for url, listed in zip(urls[1:], lists[1:]):
        if listed != lists[0]:
            diff = [a for a, b in zip(lists[0], listed) if a != b][:3]
            findings.append(Finding("instances-agree", f"{url} answers {len(listed)} accounts unlike {urls[0]} "
                                    f"({len(lists[0])}); first differences {diff}"))
    return ({a["id"]: a["balance"] for a in lists[0]} if lists else {}), findings


def check_mirror(redis_url: str, accounts: dict[str, dict]) -> list[Finding]:
    """Each account's Redis hash (fields Id, Name, Balance) equals the view (DESIGN §7)."""
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        pipe = r.pipeline(transaction=False)
        ids = sorted(accounts)
        for acc in ids:
            pipe.hgetall(acc)
        found = pipe.execute()
    finally:
        r.close()
    out = []
    for acc, got in zip(ids, found):
        a = accounts[acc]
        want = {"Id": a["id"], "Name": a["name"], "Balance": str(a["balance"])}
        if got != want:
            out.append(Finding("mirror-equals-view", f"Redis {acc}: {got or 'absent'}, view {want}"))
    return out


def judge_history(history: History, model: Model, balances: dict[str, int]) -> tuple[list[Finding], dict[str, int]]:
    """Every operation's answer against the log, and the money bound against ``balances``
    (an instance's account balances). Returns the violations and how unknown fates resolved."""
    judge = _Judge(history, model)
    for op in history.ops:
        if op.answer:
            judge.judge(op)
    judge.money(balances)
    return judge.findings, judge.unknown_fates()


async def check_bank(history: History, brokers: str, topic: str, redis_url: str | None = None,
                     subscriptions: list[Subscription] = (), tolerate_degraded: bool = False) -> BankReport:
    """Judges a finished, quiescent run. The caller adds ``verified`` once instances are stopped."""
    verdict = await run_check(brokers, topic, history.urls, tolerate_degraded=tolerate_degraded)
    balances, disagreements = await _instances_agree(history.urls)
    findings, fates = judge_history(history, verdict.model, balances)
    findings += disagreements
    if redis_url:
        view = {a.id: a.as_json() for a in verdict.model.accounts.values()}
        findings += await asyncio.to_thread(check_mirror, redis_url, view)
    for sub in subscriptions:
        problems = judge_updates(sub, verdict.model)
        findings += [Finding("subscription-complete", f"{sub.url}: {p}") for p in problems[:5]]
        if len(problems) > 5:
            findings.append(Finding("subscription-complete", f"{sub.url}: ... {len(problems) - 5} more accounts"))
    return BankReport(history, verdict, findings, resolved_unknown=fates,
                      updates={s.url: len(s.updates) for s in subscriptions})
