"""The checker must be able to fail: a faithful instance passes, every kind of tampering fails."""

import asyncio
import copy

import httpx
import pytest

from fake_instance import FakeInstance
from xbanku_check.api import Instance
from xbanku_check.compare import Verdict, check_dead_letters, check_instances
from xbanku_check.craft import LogBuilder
from xbanku_check.events import Event
from xbanku_check.fold import fold_log
from xbanku_check.topic import DeadLetter

P = 3


def busy_log() -> LogBuilder:
    """Every rule at least once: duplicates, a reused key, a misplaced record, a refund."""
    log = LogBuilder(P, seed=11)
    a, b, c, ghost = log.account(0), log.account(0), log.account(1), log.account(2)
    for acc, name in ((a, "alice"), (b, "bob"), (c, "carol")):
        log.create(acc, name, command_id=f"create-{name}")
    log.deposit(a, 500, command_id="dep")
    log.deposit(a, 500, command_id="dep")  # retry: duplicate
    log.withdraw(a, 1, command_id="dep")  # reused key: rejected
    log.transfer(a, b, 100, command_id="same")  # same partition: completed
    t = log.transfer(a, c, 50, command_id="cross")
    log.credit(c, a, 50, f"{t[0]}-{t[1]}")
    t2 = log.transfer(a, ghost, 25, command_id="refund-me")
    log.credit(ghost, a, 25, f"{t2[0]}-{t2[1]}")
    log.refund(a, ghost, 25, f"{t2[0]}-{t2[1]}")
    log.withdraw(c, 10_000, command_id="nsf")
    log.add(Event("deposit", b, amount=7), partition=2)  # misplaced
    log.add(b'{"Type":"Nope"}', partition=1)  # dead-lettered
    return log


def verdict_for(fake: FakeInstance) -> Verdict:
    model = fake.model
    verdict = Verdict("t", model)

    async def run():
        client = httpx.AsyncClient(transport=fake.transport())
        await check_instances(model, [Instance("http://fake", client)], verdict)
        await client.aclose()

    asyncio.run(run())
    return verdict


@pytest.fixture
def model():
    return fold_log(busy_log().records, P)


def test_the_log_itself_is_sound(model):
    assert not model.anomalies and model.money.conserved
    assert model.command("refund-me")[0].status == "refunded"
    assert model.command("cross")[0].status == "completed"
    assert model.counts()["duplicate"] == 1


def test_a_faithful_instance_passes(model):
    v = verdict_for(FakeInstance(model))
    assert v.ok, v.render()
    assert v.compared["GET /commands/{id}"] == len(model.commands)
    assert v.compared["history"] == len(model.accounts) == 3
    assert v.compared["GET /transfers/{id}"] == 2


def tampered(model, path_part: str, change) -> Verdict:
    def tamper(path, body):
        if path_part in path:
            body = copy.deepcopy(body)
            change(body)
        return body
    return verdict_for(FakeInstance(model, tamper=tamper))


def test_a_wrong_balance_in_the_list_fails(model):
    def change(body):
        if body["accounts"]:
            body["accounts"][0]["balance"] += 1
    v = tampered(model, "/accounts", lambda b: "accounts" in b and change(b))
    assert not v.ok and {m.what for m in v.mismatches} == {"accounts"}


def test_a_lost_account_fails(model):
    v = tampered(model, "/accounts", lambda b: "accounts" in b and b["accounts"] and b["accounts"].pop())
    assert any(m.actual == "absent" for m in v.mismatches)


def test_a_doubled_version_on_one_account_fails(model):
    acc = sorted(model.accounts)[1]
    v = tampered(model, f"/accounts/{acc}", lambda b: "version" in b and b.update(version=b["version"] * 2))
    assert [(m.what, m.subject) for m in v.mismatches] == [("account", acc)]


def test_a_history_entry_with_another_amount_fails(model):
    acc = next(a for a, rows in model.history.items() if len(rows) > 3)

    def change(b):
        for e in b["events"]:
            if e["type"] == "deposit":
                e["amount"] += 5
    v = tampered(model, f"/accounts/{acc}/events", change)
    assert not v.ok and v.mismatches[0].what == "history"


def test_a_lost_history_entry_fails(model):
    acc = next(a for a, rows in model.history.items() if len(rows) > 3)
    v = tampered(model, f"/accounts/{acc}/events", lambda b: b["events"] and b["events"].pop(0))
    assert [m.what for m in v.mismatches] == ["history"]


@pytest.mark.parametrize("key,change", [
    ("dep", lambda b: b.update(status="rejected", reason="insufficient_funds")),
    ("cross", lambda b: b.update(status="pending")),  # a transfer that never completes
    ("refund-me", lambda b: b.update(status="completed")),
    ("nsf", lambda b: b.update(offset=b["offset"] + 1)),
    ("same", lambda b: b["account"].update(balance=0)),
])
def test_a_tampered_command_outcome_fails(model, key, change):
    v = tampered(model, f"/commands/{key}", change)
    assert [(m.what, m.subject) for m in v.mismatches] == [("command", key)]


def test_a_transfer_target_side_that_lies_fails(model):
    tid = model.command("refund-me")[0].transfer_id
    v = tampered(model, f"/transfers/{tid}", lambda b: b.update(status="completed"))
    assert [(m.what, m.subject) for m in v.mismatches] == [("transfer", tid)]


def test_dead_letters_must_all_be_there(model):
    v = Verdict("t", model)
    check_dead_letters(model, [DeadLetter(pos, "x", b"") for pos in model.dead_letters], v)
    assert v.ok
    v = Verdict("t", model)
    check_dead_letters(model, [DeadLetter((0, 0), "x", b"")], v)
    assert {m.actual for m in v.mismatches} == {"missing", "unexpected letter"}


def test_degraded_answers_fail_unless_tolerated(model):
    assert not Verdict("t", model, degraded={"http://x": 2}).ok
    assert Verdict("t", model, degraded={"http://x": 2}, tolerate_degraded=True).ok
    assert Verdict("t", model, degraded={"http://x": 0}).ok
