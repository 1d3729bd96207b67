"""Subscription updates judged against the log: lost, repeated and wrong updates are caught."""

from xbanku_check.craft import LogBuilder
from xbanku_check.fold import fold_log
from xbanku_check.subscriptions import Subscription, judge_updates


def setup():
    log = LogBuilder(2, seed=4)
    a = log.account(0)
    log.create(a), log.deposit(a, 10), log.deposit(a, 5)
    model = fold_log(log.records, 2)
    updates = [{"op": "update", "account": {"id": a, "name": "n", "balance": h.balance_after, "version": v},
                "partition": h.partition, "offset": h.offset} for v, h in enumerate(model.history[a], start=1)]
    return model, updates


def test_every_change_once_in_order_passes():
    model, updates = setup()
    assert judge_updates(Subscription("u", updates), model) == []
    assert judge_updates(Subscription("u", updates[1:]), model) == []  # subscribed after the create


def test_a_lost_update_a_repeated_one_and_a_wrong_one_are_caught():
    model, updates = setup()
    assert "1 missing" in judge_updates(Subscription("u", [updates[0], updates[2]]), model)[0]
    assert "1 repeated" in judge_updates(Subscription("u", updates + updates[-1:]), model)[0]
    wrong = [dict(u) for u in updates]
    wrong[1] = wrong[1] | {"account": wrong[1]["account"] | {"balance": 11}}
    assert "balance 11" in judge_updates(Subscription("u", wrong), model)[0]
    assert "no update at all" in judge_updates(Subscription("u", []), model)[0]
