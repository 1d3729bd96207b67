"""The bank invariants must be able to fail: each lie an instance could tell is caught."""

import pytest

from xbanku_check.craft import LogBuilder
from xbanku_check.fold import fold_log
from xbanku_check.invariants import judge_history
from xbanku_check.transport import Answer, Command
from xbanku_check.workload import History, Op, WorkloadConfig

P = 3


class Scenario:
    """A log and the answers a client got, built side by side."""

    def __init__(self):
        self.log = LogBuilder(P, seed=2)
        self.a, self.b, self.far = self.log.account(0), self.log.account(0), self.log.account(1)
        self.ghost = self.log.account(2)
        self.history = History(WorkloadConfig(), ["http://x"], P, [self.a, self.b, self.far], [self.ghost])
        for acc in (self.a, self.b, self.far):
            self.log.create(acc, "n", command_id=f"c-{acc}")
            self.op(Command("create", acc, name="n"), f"c-{acc}", Answer(201, body=self.account(acc)))

    def account(self, acc):
        return fold_log(self.log.records, P).accounts[acc].as_json()

    def op(self, cmd, key, answer, purpose="fresh"):
        self.history.ops.append(Op(len(self.history.ops) + 1, purpose, cmd, key, "http://x", "http", 0.0,
                                   answer=answer))

    def judge(self, balances=None):
        model = fold_log(self.log.records, P)
        balances = balances if balances is not None else {i: a.balance for i, a in model.accounts.items()}
        return [f.invariant for f in judge_history(self.history, model, balances)[0]]


@pytest.fixture
def s():
    s = Scenario()
    s.log.deposit(s.a, 100, command_id="d1")
    s.op(Command("deposit", s.a, amount=100), "d1", Answer(200, body=s.account(s.a)))
    return s


def test_a_truthful_history_passes(s):
    s.op(Command("deposit", s.a, amount=100), "d1", Answer(200, body=s.account(s.a)), purpose="retry")
    s.op(Command("withdraw", s.a, amount=1), "d1", Answer(422, "idempotency_key_reused"), purpose="reuse")
    s.log.withdraw(s.b, 5, command_id="w1")
    s.op(Command("withdraw", s.b, amount=5), "w1", Answer(409, "insufficient_funds"))
    pos = s.log.transfer(s.a, s.far, 10, command_id="t1")
    s.log.credit(s.far, s.a, 10, f"{pos[0]}-{pos[1]}")
    s.op(Command("transfer", s.a, s.far, 10), "t1",
         Answer(200, body={"transfer_id": f"{pos[0]}-{pos[1]}", "status": "pending", "from": s.a, "to": s.far}))
    s.op(Command("deposit", s.a, amount=7), "lost", Answer(None, error="timeout"))
    assert s.judge() == []


def test_an_acknowledged_command_missing_from_the_log(s):
    s.op(Command("deposit", s.b, amount=5), "never-written", Answer(200, body={"id": s.b}))
    assert "acknowledged-is-durable" in s.judge()


def test_an_answer_that_is_not_the_logs_outcome(s):
    body = s.account(s.a) | {"balance": 99}
    s.op(Command("deposit", s.a, amount=100), "d1", Answer(200, body=body), purpose="retry")
    assert s.judge() == ["answer-matches-log"]


def test_a_422_for_a_command_that_was_applied(s):
    s.log.deposit(s.far, 5, command_id="d1")  # another partition: its own scope, applied
    s.op(Command("deposit", s.far, amount=5), "d1", Answer(422, "idempotency_key_reused"), purpose="cross_reuse")
    assert "refusal-is-true" in s.judge()


def test_a_rejection_the_log_does_not_have(s):
    s.log.withdraw(s.a, 5, command_id="w")
    s.op(Command("withdraw", s.a, amount=5), "w", Answer(409, "insufficient_funds"))
    assert "rejection-matches-log" in s.judge()


def test_a_transfer_answered_completed_that_was_refunded(s):
    pos = s.log.transfer(s.a, s.ghost, 10, command_id="t")
    tid = f"{pos[0]}-{pos[1]}"
    s.log.credit(s.ghost, s.a, 10, tid)
    s.log.refund(s.a, s.ghost, 10, tid)
    s.op(Command("transfer", s.a, s.ghost, 10), "t",
         Answer(200, body={"transfer_id": tid, "status": "completed", "from": s.a, "to": s.ghost}))
    assert s.judge() == ["answer-matches-log"]


def test_money_the_answers_do_not_allow(s):
    assert s.judge({s.a: 100}) == []
    assert s.judge({s.a: 150}) == ["money-bound"]
    assert s.judge({s.a: 100, s.b: -1, s.far: 1}) == ["no-negative-balance"]


def test_unknown_fates_widen_the_money_bound(s):
    s.op(Command("deposit", s.b, amount=50), "maybe", Answer(504, "pending"))
    assert s.judge({s.a: 100}) == [] and s.judge({s.a: 100, s.b: 50}) == []
    assert s.judge({s.a: 100, s.b: 51}) == ["money-bound"]


def test_an_accepted_command_must_be_where_the_answer_says(s):
    pos = s.log.deposit(s.b, 3, command_id="async")
    s.op(Command("deposit", s.b, amount=3), "async", Answer(202, body={"command_id": "async", "partition": pos[0],
                                                                       "offset": pos[1]}))
    assert s.judge() == []
    s.op(Command("deposit", s.b, amount=3), "async", Answer(202, body={"command_id": "async", "partition": pos[0],
                                                                       "offset": pos[1] + 1}), purpose="retry")
    assert s.judge() == ["accepted-is-durable"]


def test_a_create_without_id_must_keep_the_id_its_key_gave_it(s):
    first, other = s.log.account(2), s.log.account(1)
    s.log.create(first, "late", command_id="kc")
    s.op(Command("create", "", name=" late "), "kc", Answer(201, body=s.account(first)))
    assert s.judge() == []
    s.log.create(other, "late", command_id="kc")  # a retry that derived another id: a second account
    s.op(Command("create", "", name="late"), "kc", Answer(201, body=s.account(other)), purpose="retry")
    assert "keyed-create-is-stable" in s.judge()
