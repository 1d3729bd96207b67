"""The fold on hand-made logs: every rule of DESIGN §2 and the README's key/placement rules."""

from xbanku_check.craft import LogBuilder
from xbanku_check.events import Event
from xbanku_check.fold import MAX_INT64, fold_log

P = 4


def fold(log: LogBuilder):
    return fold_log(log.records, log.partitions)


def test_accounts_versions_and_history():
    log = LogBuilder(P)
    a = log.account()
    log.create(a, "alice", command_id="c", ts=7)
    log.deposit(a, 100, command_id="d")
    log.withdraw(a, 30)
    m = fold(log)
    assert m.accounts[a].as_json() == {"id": a, "name": "alice", "balance": 70, "version": 3}
    assert [h.as_json()["type"] for h in m.history[a]] == ["create", "deposit", "withdraw"]
    assert m.history[a][0].as_json() == {"partition": m.history[a][0].partition, "offset": 0, "type": "create",
                                         "amount": 0, "balance_after": 0, "command_id": "c", "ts": 7}
    assert (m.money.deposits, m.money.withdrawals, m.money.balances) == (100, 30, 70)
    assert m.money.conserved and not m.anomalies


def test_rejections_change_nothing():
    log = LogBuilder(P)
    a, ghost = log.account(), log.account()
    log.create(a, "a")
    pos = {
        "exists": log.create(a, "again"),
        "nf_dep": log.deposit(ghost, 1),
        "nf_wd": log.withdraw(ghost, 1),
        "nsf": log.withdraw(a, 1),
        "same": log.transfer(a, a, 1),
    }
    for _ in range(MAX_INT64 // 10**15):  # amounts are at most 10^15: fill up to the brim
        log.deposit(a, 10**15)
    pos["overflow"] = log.deposit(a, 10**15)
    m = fold(log)
    reasons = {k: m.outcomes[p].reason for k, p in pos.items()}
    assert reasons == {"exists": "account_exists", "nf_dep": "account_not_found", "nf_wd": "account_not_found",
                       "nsf": "insufficient_funds", "same": "same_account", "overflow": "balance_overflow"}
    assert m.accounts[a].name == "a" and m.accounts[a].balance == 9223 * 10**15  # never reset
    assert m.outcomes[pos["nsf"]].account["balance"] == 0


def test_same_partition_transfer_is_atomic_and_completed():
    log = LogBuilder(P)
    a, b, ghost = log.account(1), log.account(1), log.account(1)
    log.create(a), log.create(b), log.deposit(a, 50)
    t = log.transfer(a, b, 20, command_id="t")
    nf = log.transfer(a, ghost, 1)
    nsf = log.transfer(a, b, 31)
    m = fold(log)
    o = m.outcomes[t]
    assert (o.status, o.transfer_id, o.account["balance"]) == ("completed", f"1-{t[1]}", 30)
    assert (m.accounts[a].balance, m.accounts[b].balance, m.accounts[b].version) == (30, 20, 2)
    assert m.history[b][-1].as_json()["counterparty"] == a
    assert (m.outcomes[nf].reason, m.outcomes[nsf].reason) == ("target_not_found", "insufficient_funds")


def test_cross_partition_transfer_pending_then_completed_by_its_credit():
    log = LogBuilder(P)
    a, b = log.account(0), log.account(2)
    log.create(a), log.create(b), log.deposit(a, 50)
    t = log.transfer(a, b, 20, command_id="t")
    tid = f"{t[0]}-{t[1]}"
    m = fold(log)
    assert m.outcomes[t].status == "pending" and m.money.in_flight == 20
    assert [x.kind for x in m.anomalies] == ["credit_missing"]
    assert m.money.conserved  # the money is in flight, not lost

    log.credit(b, a, 20, tid)
    log.credit(b, a, 20, tid)  # re-sent by a replay: a duplicate
    m = fold(log)
    assert m.outcomes[t].status == "completed" and m.outcomes[t].cross_partition
    assert m.accounts[b].balance == 20 and m.accounts[b].version == 2
    assert sorted(o.status for o in m.outcomes.values() if o.type == "transfer_credit") == ["completed", "duplicate"]
    assert m.money.in_flight == 0 and not m.anomalies


def test_credit_to_a_missing_target_is_refunded_once():
    log = LogBuilder(P)
    a, ghost = log.account(0), log.account(3)
    log.create(a), log.deposit(a, 50)
    t = log.transfer(a, ghost, 20, command_id="t")
    tid = f"{t[0]}-{t[1]}"
    c = log.credit(ghost, a, 20, tid)
    m = fold(log)
    assert m.outcomes[c].reason == "target_not_found"
    assert [x.kind for x in m.anomalies] == ["refund_missing"]
    r1 = log.refund(a, ghost, 20, tid)
    r2 = log.refund(a, ghost, 20, tid)
    m = fold(log)
    assert (m.outcomes[r1].status, m.outcomes[r2].status, m.outcomes[t].status) == ("refunded", "duplicate", "refunded")
    assert m.accounts[a].balance == 50 and m.accounts[a].version == 4
    assert not m.anomalies and m.money.conserved


def test_transfer_ids_are_positions_even_with_a_command_id():
    log = LogBuilder(P)
    a, b = log.account(0), log.account(1)
    log.create(a), log.create(b), log.deposit(a, 5)
    t = log.transfer(a, b, 5, command_id="0-2")
    assert fold(log).outcomes[t].transfer_id == f"0-{t[1]}"


def test_duplicates_share_the_first_outcome_and_reused_keys_are_refused():
    log = LogBuilder(P)
    a = log.account(0)
    log.create(a)
    first = log.deposit(a, 10, command_id="k", ts=1)
    dup = log.deposit(a, 10, command_id="k", ts=2, request_id="retry")
    reused = log.withdraw(a, 10, command_id="k")
    other_amount = log.deposit(a, 11, command_id="k")
    m = fold(log)
    assert m.outcomes[dup].status == "duplicate" and m.outcomes[dup].first == first
    for p in (reused, other_amount):
        assert (m.outcomes[p].reason, m.outcomes[p].by_position) == ("idempotency_key_reused", True)
    assert m.accounts[a].balance == 10
    assert [o.pos for o in m.command("k")] == [first]


def test_a_key_is_scoped_by_partition_and_principal():
    log = LogBuilder(P)
    a, b = log.account(0), log.account(1)
    log.create(a), log.create(b)
    pa = log.deposit(a, 1, command_id="k")
    pb = log.deposit(b, 2, command_id="k")  # another partition: another scope
    pc = log.deposit(a, 3, command_id="k", principal="carol")  # another principal
    m = fold(log)
    assert all(m.outcomes[p].status == "applied" for p in (pa, pb, pc))
    assert [o.pos for o in m.command("k")] == [pa, pb]
    assert [o.pos for o in m.command("k", "carol")] == [pc]


def test_a_rejection_takes_its_key_too():
    log = LogBuilder(P)
    a = log.account(0)
    first = log.deposit(a, 10, command_id="k")  # account_not_found
    log.create(a)
    again = log.deposit(a, 10, command_id="k")
    m = fold(log)
    assert m.outcomes[again].status == "duplicate" and m.accounts[a].balance == 0
    assert m.command("k")[0].reason == "account_not_found" and m.command("k")[0].pos == first


def test_misplaced_records_change_nothing_and_take_no_key():
    log = LogBuilder(P)
    a = log.account(0)
    log.create(a)
    wrong = log.add(Event("deposit", a, amount=5, command_id="k"), partition=2)
    keyless = log.add(Event("create", log.account(1), acc_name="x"), partition=3)
    right = log.deposit(a, 5, command_id="k")
    m = fold(log)
    for p in (wrong, keyless):
        assert (m.outcomes[p].reason, m.outcomes[p].dead_letter) == ("misplaced_record", True)
    assert m.outcomes[right].status == "applied" and m.accounts[a].balance == 5
    assert len(m.accounts) == 1 and m.dead_letters == {wrong, keyless}


def test_one_partition_places_everything():
    log = LogBuilder(1)
    a, b = log.account(), log.account()
    log.create(a), log.create(b), log.deposit(a, 3)
    t = log.transfer(a, b, 3)
    m = fold(log)
    assert m.outcomes[t].status == "completed" and m.accounts[b].balance == 3


def test_undecodable_records_are_rejected_dead_lettered_and_take_a_free_key():
    log = LogBuilder(P)
    a = log.account(0)
    log.create(a)
    bad_amount = log.add(b'{"Type":"DepositEvent","AccId":"%s","Amount":0,"CommandId":"k"}' % a.encode(), partition=0)
    junk = log.add(b"\x00garbage", partition=0)
    unknown = log.add(b'{"Type":"Mint","CommandId":"k"}', partition=0)
    later = log.deposit(a, 1, command_id="k")
    m = fold(log)
    assert [m.outcomes[p].reason for p in (bad_amount, junk, unknown)] == ["invalid_amount", "malformed_event", "unknown_type"]
    assert m.dead_letters == {junk, unknown}
    assert m.outcomes[unknown].by_position  # the key was taken by the bad amount
    assert m.outcomes[later].reason == "idempotency_key_reused"
    assert m.command("k")[0].pos == bad_amount


def test_forged_follow_ups_are_anomalies_and_break_conservation():
    log = LogBuilder(P)
    a, b = log.account(0), log.account(1)
    log.create(a), log.create(b)
    log.credit(b, a, 1_000, "0-99")  # no such transfer: money from nowhere
    m = fold(log)
    assert m.accounts[b].balance == 1_000
    assert {x.kind for x in m.anomalies} == {"credit_without_transfer", "money_not_conserved"}
    assert not m.money.conserved


def test_the_fold_does_not_depend_on_the_order_records_arrive_in():
    log = LogBuilder(P, seed=3)
    accs = [log.account(i % P) for i in range(8)]
    for i, acc in enumerate(accs):
        log.create(acc), log.deposit(acc, 100 + i)
    for i in range(20):
        log.transfer(accs[i % 8], accs[(i * 3 + 1) % 8], 7 + i, command_id=f"t{i % 5}")
    shuffled = list(reversed(log.records))
    assert fold_log(shuffled, P).outcomes == fold(log).outcomes


def test_a_misplaced_record_with_a_bad_amount_is_misplaced_and_takes_no_key():
    log = LogBuilder(P)
    a = log.account(0)
    log.create(a)
    wrong = log.add(b'{"Type":"DepositEvent","AccId":"%s","Amount":0,"CommandId":"k"}' % a.encode(), partition=1)
    b = log.account(1)
    log.create(b)
    later = log.deposit(b, 1, command_id="k")
    m = fold(log)
    assert (m.outcomes[wrong].reason, m.outcomes[wrong].dead_letter) == ("misplaced_record", True)
    assert m.outcomes[later].status == "applied"
