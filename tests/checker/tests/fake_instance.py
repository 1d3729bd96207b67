"""A fake xbanku instance answering from a Model (what the log says), with a hook to tamper.

It pages at most ``page`` items whatever limit is asked, so the checker's paging is exercised.
"""

from __future__ import annotations

import json
from typing import Callable

import httpx

from xbanku_check.compare import expected_command, first_credits
from xbanku_check.fold import Model


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def _not_found(code: str) -> httpx.Response:
    return _json(404, {"error": {"code": code, "message": "not found"}})


class FakeInstance:
    def __init__(self, model: Model, page: int = 2, tamper: Callable[[str, object], object] | None = None):
        self.model, self.page = model, page
        self.tamper = tamper or (lambda path, body: body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, q = request.url.path, request.url.params
        limit = min(int(q.get("limit", 100)), self.page)
        parts = path.strip("/").split("/")
        if parts == ["accounts"]:
            ids = sorted(i for i in self.model.accounts if i > q.get("after", ""))
            page = ids[:limit]
            body = {"accounts": [self.model.accounts[i].as_json() for i in page],
                    "next": page[-1] if len(ids) > limit else None}
        elif len(parts) == 2 and parts[0] == "accounts":
            if parts[1] not in self.model.accounts:
                return _not_found("account_not_found")
            body = self.model.accounts[parts[1]].as_json()
        elif len(parts) == 3 and parts[2] == "events":
            if parts[1] not in self.model.accounts:
                return _not_found("account_not_found")
            start = int(q.get("after", 0))
            rows = self.model.history[parts[1]]
            events = [h.as_json() | {"cursor": str(i + 1)} for i, h in enumerate(rows)][start:start + limit]
            body = {"events": events, "next": str(start + limit) if start + limit < len(rows) else None}
        elif parts[0] == "transfers":
            credit = first_credits(self.model).get(parts[1])
            if credit is None:
                return _not_found("transfer_not_found")
            body = {"transfer_id": parts[1], "status": "completed" if credit.status == "completed" else "credit_failed"}
        elif parts[0] == "commands":
            scopes = self.model.command(parts[1])
            if not scopes:
                return _not_found("command_not_found")
            body = expected_command(scopes[0]) | {"command_id": parts[1]}
        else:
            return _not_found("not_found")
        return _json(200, self.tamper(path, body))
