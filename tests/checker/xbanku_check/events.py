"""Strict decoding of one topic record (DESIGN §1, §2), written from the contract, not the code.

A record's value is one JSON object with the Go project's field names. Decoding either gives an
:class:`Event` or an :class:`Undecodable` that says which rejection the record gets:

* ``unknown_type``: ``Type`` is a string that names no event type (whatever else is wrong);
* ``malformed_event``: not a JSON object, ``Type`` missing, or any field other than the amount
  missing or invalid;
* ``invalid_amount``: everything else is well-formed but ``Amount`` is not an integer in
  1..10^15 (a string or a fraction counts as a bad amount; ``true`` or ``null`` as malformed).

Field rules: ids are UUIDs (compared in lower case); ``AccName`` is 1-200 code points after
trimming ASCII white space, with no control character (C0, DEL, C1) and no bidirectional
embedding, override or isolate; ``CommandId`` 1-128 code points; ``Principal`` 1-200 code
points, no control or bidi character; ``RequestId`` 1-128 printable ASCII characters, no space;
``TransferId`` 1-128 and ``Reason`` 0-64 code points; ``Ts`` an integer >= 0; ``V`` = 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_AMOUNT = 10**15
MAX_INT64 = 2**63 - 1

# Go type names → the names the API uses for them (history "type", command "type").
TYPE_NAMES = {
    "CreateEvent": "create",
    "DepositEvent": "deposit",
    "WithdrawEvent": "withdraw",
    "TransferEvent": "transfer",
    "TransferCreditEvent": "transfer_credit",
    "TransferRefundEvent": "transfer_refund",
}
GO_NAMES = {v: k for k, v in TYPE_NAMES.items()}

_ASCII_SPACE = " \t\n\r\f\v"
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Event:
    """A well-formed record. ``type`` is the API's name (``deposit``, ``transfer_credit`` ...)."""

    type: str
    acc_id: str
    acc_name: str = ""
    amount: int = 0
    target_id: str = ""
    source_id: str = ""
    transfer_id: str = ""
    reason: str = ""
    command_id: str = ""
    principal: str = ""
    request_id: str = ""
    ts: int = 0

    def request(self) -> tuple:
        """What an idempotency key is bound to: type, accounts, amount, and a create's name."""
        if self.type == "create":
            return (self.type, self.acc_id, "", 0, self.acc_name)
        target = self.target_id if self.type == "transfer" else ""
        return (self.type, self.acc_id, target, self.amount, "")


@dataclass(frozen=True)
class Undecodable:
    """A record that gets a decoding rejection, with the ids that could still be read."""

    reason: str  # malformed_event | unknown_type | invalid_amount
    detail: str
    command_id: str = ""
    acc_id: str = ""
    principal: str = ""

    @property
    def dead_lettered(self) -> bool:
        """Malformed records and unknown types go to ``<topic>.dlq``; bad amounts do not."""
        return self.reason != "invalid_amount"


class _Malformed(Exception):
    pass


def canonical_uuid(value: object) -> str | None:
    """The lower-case form of a UUID in 8-4-4-4-12 hex form, else None."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    for i, c in enumerate(value):
        if i in (8, 13, 18, 23):
            if c != "-":
                return None
        elif c not in _HEX:
            return None
    return value.lower()


def _is_control(cp: int) -> bool:
    return cp < 0x20 or 0x7F <= cp <= 0x9F


def _is_bidi_control(cp: int) -> bool:
    return 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069


def text_problem(s: str, lo: int, hi: int) -> str | None:
    """Why ``s`` is not lo..hi code points of displayable text (None when it is)."""
    if not lo <= len(s) <= hi:
        return f"must be {lo}-{hi} characters"
    for ch in s:
        if _is_control(ord(ch)):
            return "must not contain control characters"
        if _is_bidi_control(ord(ch)):
            return "must not contain bidirectional controls"
    return None


def normalize_name(name: str) -> str | None:
    """An account name as stored (trimmed of ASCII white space), or None if it is invalid."""
    trimmed = name.strip(_ASCII_SPACE)
    return None if text_problem(trimmed, 1, 200) else trimmed


def _printable_token(s: str, hi: int) -> bool:
    return 1 <= len(s) <= hi and all("!" <= c <= "~" for c in s)


def _refuse_constant(name: str) -> object:
    raise _Malformed(f"{name} is not JSON")


def _check_unicode(value: object) -> None:
    """JSON text may escape lone UTF-16 surrogates; they are not Unicode text: malformed."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Malformed("a string holds a lone surrogate") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_unicode(k)
            _check_unicode(v)
    elif isinstance(value, list):
        for v in value:
            _check_unicode(v)


def _parse(value: bytes | None) -> object:
    if value is None:
        raise _Malformed("the record has no value")
    try:
        obj = json.loads(value.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _Malformed(f"value is not valid JSON: {e}") from None
    _check_unicode(obj)
    return obj


class _Fields:
    """Reads one object's fields; remembers the first malformation and any amount problem."""

    def __init__(self, obj: dict):
        self.obj = obj
        self.problems: list[str] = []
        self.amount_problem: str | None = None

    def _bad(self, key: str, why: str) -> None:
        self.problems.append(f"field '{key}' {why}")

    def string(self, key: str) -> str | None:
        if key not in self.obj:
            self._bad(key, "is missing")
            return None
        v = self.obj[key]
        if not isinstance(v, str):
            self._bad(key, "must be a string")
            return None
        return v

    def uuid(self, key: str) -> str:
        v = self.string(key)
        if v is None:
            return ""
        canonical = canonical_uuid(v)
        if canonical is None:
            self._bad(key, "is not a UUID")
            return ""
        return canonical

    def text(self, key: str, lo: int, hi: int) -> str:
        v = self.string(key)
        if v is not None and not lo <= len(v) <= hi:
            self._bad(key, f"must be {lo}-{hi} characters")
            return ""
        return v or ""

    def name(self) -> str:
        v = self.string("AccName")
        if v is None:
            return ""
        name = normalize_name(v)
        if name is None:
            self._bad("AccName", "is not a valid name")
            return ""
        return name

    def amount(self) -> int:
        if "Amount" not in self.obj:
            self._bad("Amount", "is missing")
            return 0
        v = self.obj["Amount"]
        if isinstance(v, bool) or v is None or isinstance(v, (dict, list)):
            self._bad("Amount", "must be an integer")
            return 0
        if isinstance(v, int) and 1 <= v <= MAX_AMOUNT:
            return v
        self.amount_problem = f"Amount {v!r} is not an integer in 1..10^15"
        return 0

    def optional(self) -> dict:
        out: dict = {}
        o = self.obj
        if "CommandId" in o:
            out["command_id"] = self.text("CommandId", 1, 128)
        if "Principal" in o:
            v = self.string("Principal")
            why = text_problem(v, 1, 200) if v is not None else None
            if why:
                self._bad("Principal", why)
            out["principal"] = v or ""
        if "RequestId" in o:
            v = self.string("RequestId")
            if v is not None and not _printable_token(v, 128):
                self._bad("RequestId", "must be 1-128 printable ASCII characters")
            out["request_id"] = v or ""
        if "Ts" in o:
            ts = o["Ts"]
            if isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts <= MAX_INT64:
                self._bad("Ts", "must be an integer >= 0")
            else:
                out["ts"] = ts
        if "V" in o and not (type(o["V"]) is int and o["V"] == 1):
            self._bad("V", "must be 1")
        return out


def _best_effort_ids(obj: object) -> dict:
    """The ids of an undecodable record that are still readable (its key takes a scope)."""
    if not isinstance(obj, dict):
        return {}
    out = {}
    p = obj.get("Principal")
    if isinstance(p, str) and text_problem(p, 1, 200) is None:
        out["principal"] = p
    c = obj.get("CommandId")
    if isinstance(c, str) and 1 <= len(c) <= 128:
        out["command_id"] = c
    a = canonical_uuid(obj.get("AccId"))
    if a:
        out["acc_id"] = a
    return out


def decode(value: bytes | None) -> Event | Undecodable:
    """Decode one record value strictly; never raises."""
    try:
        obj = _parse(value)
    except _Malformed as e:
        return Undecodable("malformed_event", str(e))
    if not isinstance(obj, dict):
        return Undecodable("malformed_event", "value must be a JSON object")
    ids = _best_effort_ids(obj)
    go_type = obj.get("Type")
    if not isinstance(go_type, str):
        return Undecodable("malformed_event", "field 'Type' is missing or not a string", **ids)
    kind = TYPE_NAMES.get(go_type)
    if kind is None:
        return Undecodable("unknown_type", f"field 'Type' has unknown value {go_type[:40]!r}", **ids)

    f = _Fields(obj)
    fields: dict = {"type": kind, "acc_id": f.uuid("AccId")}
    if kind == "create":
        fields["acc_name"] = f.name()
    elif kind in ("deposit", "withdraw"):
        fields["amount"] = f.amount()
    elif kind == "transfer":
        fields["target_id"] = f.uuid("TargetId")
        fields["amount"] = f.amount()
    elif kind == "transfer_credit":
        fields["source_id"] = f.uuid("SourceId")
        fields["amount"] = f.amount()
        fields["transfer_id"] = f.text("TransferId", 1, 128)
    else:  # transfer_refund
        fields["target_id"] = f.uuid("TargetId")
        fields["amount"] = f.amount()
        fields["transfer_id"] = f.text("TransferId", 1, 128)
        fields["reason"] = f.text("Reason", 0, 64)
    fields.update(f.optional())
    if f.problems:
        return Undecodable("malformed_event", f.problems[0], **ids)
    if f.amount_problem:
        return Undecodable("invalid_amount", f.amount_problem, **ids)
    return Event(**fields)


def encode(event: Event) -> bytes:
    """The record value for ``event`` (used to write hand-made logs in tests)."""
    o: dict = {"AccId": event.acc_id, "Type": GO_NAMES[event.type]}
    if event.type == "create":
        o["AccName"] = event.acc_name
    if event.type in ("transfer", "transfer_refund"):
        o["TargetId"] = event.target_id
    if event.type == "transfer_credit":
        o["SourceId"] = event.source_id
    if event.type != "create":
        o["Amount"] = event.amount
    if event.type in ("transfer_credit", "transfer_refund"):
        o["TransferId"] = event.transfer_id
    if event.type == "transfer_refund":
        o["Reason"] = event.reason
    for key, attr in (("CommandId", "command_id"), ("Principal", "principal"), ("RequestId", "request_id")):
        if getattr(event, attr):
            o[key] = getattr(event, attr)
    if event.ts:
        o["Ts"] = event.ts
    return json.dumps(o, ensure_ascii=False).encode()
