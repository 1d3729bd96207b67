"""Strict decoding: which records are events, and which rejection the others get."""

import json

import pytest

from xbanku_check.events import Event, Undecodable, decode, encode

ACC = "38972289-a942-4b00-930e-ad4f00a68e8e"
OTHER = "7c586d75-8de5-5b9b-9112-591eedc404d5"


def rec(**fields) -> bytes:
    return json.dumps(fields).encode()


def reason(value: bytes | None) -> str:
    d = decode(value)
    return d.reason if isinstance(d, Undecodable) else "ok"


def test_round_trip_of_every_type():
    events = [
        Event("create", ACC, acc_name="Cole Bittel", command_id="k1", ts=5),
        Event("deposit", ACC, amount=10, principal="alice", request_id="r-1"),
        Event("withdraw", ACC, amount=10**15),
        Event("transfer", ACC, target_id=OTHER, amount=1),
        Event("transfer_credit", OTHER, source_id=ACC, amount=3, transfer_id="0-2"),
        Event("transfer_refund", ACC, target_id=OTHER, amount=3, transfer_id="0-2", reason=""),
    ]
    for e in events:
        assert decode(encode(e)) == e


def test_go_format_record_without_optional_fields():
    assert decode(rec(AccId=ACC, Type="CreateEvent", AccName="  Cole  ")) == Event("create", ACC, acc_name="Cole")


def test_ids_are_compared_in_lower_case():
    assert decode(rec(AccId=ACC.upper(), Type="DepositEvent", Amount=1)).acc_id == ACC


@pytest.mark.parametrize("amount", [0, -1, 10**15 + 1, 2**64, 1.5, 1.0, "10", 1e3])
def test_bad_amounts(amount):
    assert reason(rec(AccId=ACC, Type="DepositEvent", Amount=amount)) == "invalid_amount"


@pytest.mark.parametrize("amount", [True, None, [1], {"v": 1}])
def test_amounts_of_the_wrong_kind_are_malformed(amount):
    assert reason(rec(AccId=ACC, Type="WithdrawEvent", Amount=amount)) == "malformed_event"


def test_a_bad_amount_counts_only_when_the_rest_is_well_formed():
    assert reason(rec(AccId=ACC, Type="TransferEvent", TargetId="nope", Amount=0)) == "malformed_event"
    assert reason(rec(AccId=ACC, Type="DepositEvent", Amount=0, Ts=-1)) == "malformed_event"


def test_unknown_type_wins_over_everything_else():
    assert reason(rec(Type="BurnEvent")) == "unknown_type"
    assert reason(rec(Type="createevent", AccId=ACC, AccName="x")) == "unknown_type"


@pytest.mark.parametrize("value", [
    None, b"", b"not json", b"[1]", b'"s"', b"\xff\xfe", b'{"Type":"DepositEvent","AccId":"' + ACC.encode() + b'","Amount":NaN}',
    rec(AccId=ACC), rec(Type=1, AccId=ACC), rec(Type="DepositEvent", Amount=1),
    rec(Type="DepositEvent", AccId="42", Amount=1),
    rec(Type="CreateEvent", AccId=ACC), rec(Type="CreateEvent", AccId=ACC, AccName="   "),
    rec(Type="CreateEvent", AccId=ACC, AccName="x" * 201), rec(Type="CreateEvent", AccId=ACC, AccName="a\u0007b"),
    rec(Type="CreateEvent", AccId=ACC, AccName="a\u0085b"), rec(Type="CreateEvent", AccId=ACC, AccName="a\u202eb"),
    rec(Type="CreateEvent", AccId=ACC, AccName="a\u2066b"), rec(Type="CreateEvent", AccId=ACC, AccName="\ud800"),
    rec(Type="TransferEvent", AccId=ACC, Amount=1), rec(Type="TransferCreditEvent", AccId=OTHER, SourceId=ACC, Amount=1),
    rec(Type="TransferCreditEvent", AccId=OTHER, SourceId=ACC, Amount=1, TransferId=""),
    rec(Type="TransferRefundEvent", AccId=ACC, TargetId=OTHER, Amount=1, TransferId="0-1"),
    rec(Type="TransferRefundEvent", AccId=ACC, TargetId=OTHER, Amount=1, TransferId="0-1", Reason="r" * 65),
    rec(Type="DepositEvent", AccId=ACC, Amount=1, CommandId=""), rec(Type="DepositEvent", AccId=ACC, Amount=1, CommandId="k" * 129),
    rec(Type="DepositEvent", AccId=ACC, Amount=1, CommandId=None), rec(Type="DepositEvent", AccId=ACC, Amount=1, Principal="a\nb"),
    rec(Type="DepositEvent", AccId=ACC, Amount=1, RequestId="has space"), rec(Type="DepositEvent", AccId=ACC, Amount=1, Ts=1.5),
    rec(Type="DepositEvent", AccId=ACC, Amount=1, Ts=2**63), rec(Type="DepositEvent", AccId=ACC, Amount=1, V=2),
    rec(Type="DepositEvent", AccId=ACC, Amount=1, V=True),
])
def test_malformed(value):
    assert reason(value) == "malformed_event"


def test_names_keep_inner_and_unicode_space():
    assert decode(rec(Type="CreateEvent", AccId=ACC, AccName="\u00a0Zoë  Ö\t")).acc_name == "\u00a0Zoë  Ö"
    assert decode(rec(Type="CreateEvent", AccId=ACC, AccName="x" * 200)).acc_name == "x" * 200


def test_undecodable_records_keep_the_ids_they_have():
    d = decode(rec(Type="DepositEvent", AccId=ACC, Amount=0, CommandId="k", Principal="bob"))
    assert (d.reason, d.command_id, d.acc_id, d.principal, d.dead_lettered) == ("invalid_amount", "k", ACC, "bob", False)
    d = decode(rec(Type="Nope", CommandId="k2"))
    assert (d.reason, d.command_id, d.dead_lettered) == ("unknown_type", "k2", True)


def test_request_binds_type_accounts_amount_and_name():
    a = Event("transfer", ACC, target_id=OTHER, amount=5, command_id="k", ts=1)
    b = Event("transfer", ACC, target_id=OTHER, amount=5, command_id="k", ts=2, request_id="other")
    assert a.request() == b.request()
    assert a.request() != Event("transfer", ACC, target_id=ACC, amount=5).request()
    assert Event("create", ACC, acc_name="x").request() != Event("create", ACC, acc_name="y").request()
