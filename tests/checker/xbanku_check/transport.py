"""Sending one command to one instance, over HTTP (DESIGN §3) or WebSocket (§4), and saying what
the answer proves. Both transports give an :class:`Answer` in HTTP terms, so the workload and its
checks do not care which one carried a command.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass

import httpx
import websockets

from .events import normalize_name

# A WebSocket error code → the HTTP status the same answer has over HTTP (§3, §4).
WS_STATUS = {
    "account_not_found": 404, "target_not_found": 404, "account_exists": 409, "balance_overflow": 409,
    "insufficient_funds": 409, "same_account": 409, "idempotency_key_reused": 422, "bad_request": 400,
    "invalid_amount": 400, "invalid_id": 400, "invalid_name": 400, "pending": 504, "log_unavailable": 503,
    "log_uncertain": 503, "shutting_down": 503, "unavailable": 503, "too_many_in_flight": 429, "internal": 500,
}
# Answers that prove the command was not written (§3: "the command was NOT written").
NOT_WRITTEN = {"bad_request", "invalid_amount", "invalid_id", "invalid_name", "payload_too_large",
               "unsupported_media_type", "log_unavailable", "shutting_down", "too_many_in_flight"}


@dataclass(frozen=True)
class Command:
    kind: str  # create | deposit | withdraw | transfer
    account: str  # the account it names first (a transfer's source): it places the record;
    # "" for a create that names no id (the server derives one from the key)
    target: str = ""
    amount: int = 0
    name: str = ""

    def request(self) -> tuple:
        """What its key is bound to, in the checker's terms (events.Event.request)."""
        if self.kind == "create":
            return ("create", self.account, "", 0, normalize_name(self.name) or self.name)
        return (self.kind, self.account, self.target if self.kind == "transfer" else "", self.amount, "")

    def http(self) -> tuple[str, dict]:
        if self.kind == "create":
            return "/accounts", {"name": self.name} | ({"id": self.account} if self.account else {})
        if self.kind == "transfer":
            return "/transfers", {"from": self.account, "to": self.target, "amount": self.amount}
        return f"/accounts/{self.account}/{self.kind}", {"amount": self.amount}

    def ws(self) -> dict:
        if self.kind == "create":
            return {"op": "create", "name": self.name} | ({"account": self.account} if self.account else {})
        if self.kind == "transfer":
            return {"op": "transfer", "from": self.account, "to": self.target, "amount": self.amount}
        return {"op": self.kind, "account": self.account, "amount": self.amount}


@dataclass(frozen=True)
class Answer:
    status: int | None  # HTTP status (over WebSocket: the status of the same answer over HTTP)
    code: str = ""  # error code, "" on success
    body: dict | None = None  # the answer's JSON object (over WebSocket: result, or error)
    error: str = ""  # no answer: why

    @property
    def verdict(self) -> str:
        """ok: acknowledged (2xx); accepted: written, not yet projected (202, wait=false);
        rejected: decided by a rule (404/409: a record says so); refused: nothing applied (422)
        or nothing written; info: unknown whether it applied (504 pending, no answer, ...)."""
        if self.status in (200, 201):
            return "ok"
        if self.status == 202:
            return "accepted"
        if self.status in (404, 409):
            return "rejected"
        if self.status == 422 or self.code in NOT_WRITTEN:
            return "refused"
        return "info"

    @property
    def position(self) -> tuple[int, int] | None:
        """Where the record is, when the answer says (202 accepted, 504 pending)."""
        b = self.body or {}
        if self.status in (202, 504) and isinstance(b.get("partition"), int) and isinstance(b.get("offset"), int):
            return b["partition"], b["offset"]
        return None


def _error_code(body: object) -> str:
    try:
        return body["error"]["code"]
    except (TypeError, KeyError):
        return ""


class HttpTransport:
    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def send(self, url: str, cmd: Command, key: str, wait: bool = True) -> Answer:
        path, body = cmd.http()
        try:
            r = await self.client.post(url + path, json=body, headers={"Idempotency-Key": key},
                                       params=None if wait else {"wait": "false"})
        except httpx.HTTPError as e:
            return Answer(None, error=f"{type(e).__name__}: {e}")
        try:
            payload = r.json()
        except ValueError:
            return Answer(r.status_code, code="not_json", error=r.text[:200])
        if not isinstance(payload, dict):
            return Answer(r.status_code, code="not_an_object", error=r.text[:200])
        if r.status_code < 300:
            return Answer(r.status_code, body=payload)
        return Answer(r.status_code, code=_error_code(payload) or payload.get("status", ""), body=payload)


class _WsLink:
    """One WebSocket connection; replies are matched to requests by id."""

    def __init__(self, ws):
        self.ws = ws
        self.waiting: dict[int, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                msg = json.loads(frame)
                fut = self.waiting.pop(msg.get("id"), None) if isinstance(msg.get("id"), int) else None
                if fut and not fut.done():
                    fut.set_result(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            for fut in self.waiting.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("WebSocket closed"))

    async def request(self, msg: dict, timeout: float) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[msg["id"]] = fut
        try:
            await self.ws.send(json.dumps(msg))
            return await asyncio.wait_for(fut, timeout)
        finally:
            if self.waiting.pop(msg["id"], None) is fut and fut.done() and not fut.cancelled():
                fut.exception()  # retrieved: the caller has its own error already

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


class WsTransport:
    """One connection per instance, opened on first use and shared by every worker."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.links: dict[str, _WsLink] = {}
        self.ids = itertools.count(1)
        self.lock = asyncio.Lock()

    async def _link(self, url: str) -> _WsLink:
        async with self.lock:
            link = self.links.get(url)
            if link is None or link.reader.done():
                ws = await websockets.connect(url.replace("http://", "ws://") + "/ws", max_size=2**22)
                link = self.links[url] = _WsLink(ws)
            return link

    async def send(self, url: str, cmd: Command, key: str, wait: bool = True) -> Answer:
        msg = cmd.ws() | {"id": next(self.ids), "idempotency_key": key, "wait": wait}
        try:
            link = await self._link(url)
            reply = await link.request(msg, self.timeout)
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException) as e:
            return Answer(None, error=f"{type(e).__name__}: {e}")
        if reply.get("ok"):
            status = 202 if not wait else 201 if cmd.kind == "create" else 200
            return Answer(status, body=reply.get("result"))
        error = reply.get("error") or {}
        return Answer(WS_STATUS.get(error.get("code", ""), 500), code=error.get("code", ""), body=error)

    async def close(self) -> None:
        for link in self.links.values():
            await link.close()
