"""Reading one xbanku instance over HTTP (DESIGN §3): paged accounts and histories, command
outcomes, readiness and metrics. Shared by the checker, the bank workload and the soak.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx

class Unavailable(Exception):
    """The instance kept answering 503 (no instance serves the partition) past the deadline."""


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict
    value: float


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[Sample]:
    """Prometheus text exposition (0.0.4), samples only."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and not line.startswith("#"):
            labels = dict(_LABEL.findall(m.group(2) or ""))
            out.append(Sample(m.group(1), labels, float(m.group(3))))
    return out


class Instance:
    """One instance, by base URL. Reads retry a degraded answer (503: no instance serves the
    partition now; ``X-Stale: true``: answered from a local copy) until ``patience`` seconds have
    passed, and count them in ``degraded``; every other answer is returned as it came."""

    def __init__(self, url: str, client: httpx.AsyncClient | None = None, patience: float = 20.0,
                 timeout: float = 15.0):
        self.url = url.rstrip("/")
        self.client = client or httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=32))
        self.patience = patience
        self.degraded = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    def __str__(self) -> str:
        return self.url

    async def get(self, path: str, params: dict | None = None) -> httpx.Response:
        deadline = time.monotonic() + self.patience
        while True:
            r = await self.client.get(self.url + path, params=params)
            if r.status_code != 503 and r.headers.get("x-stale") != "true":
                return r
            self.degraded += 1
            if time.monotonic() > deadline:
                return r
            await asyncio.sleep(min(1.0, float(r.headers.get("retry-after", "0.2") or 0.2)))

    async def _ok_json(self, path: str, params: dict | None = None) -> dict:
        r = await self.get(path, params)
        if r.status_code == 503:
            raise Unavailable(f"{self.url}{path}: 503 for {self.patience} s")
        r.raise_for_status()
        return r.json()

    async def all_accounts(self, page: int = 1000) -> list[dict]:
        """Every account, following ``next`` from page to page."""
        out: list[dict] = []
        params: dict = {"limit": page}
        while True:
            body = await self._ok_json("/accounts", params)
            out.extend(body["accounts"])
            if body.get("next") is None:
                return out
            params = {"limit": page, "after": body["next"]}

    async def account(self, account_id: str) -> httpx.Response:
        return await self.get(f"/accounts/{account_id}")

    async def history(self, account_id: str, page: int = 1000) -> list[dict] | None:
        """The account's whole history, or None when the instance says 404."""
        out: list[dict] = []
        params: dict = {"limit": page}
        while True:
            r = await self.get(f"/accounts/{account_id}/events", params)
            if r.status_code == 404 and not out:
                return None
            if r.status_code == 503:
                raise Unavailable(f"{self.url}: history of {account_id}: 503")
            r.raise_for_status()
            body = r.json()
            out.extend(body["events"])
            if body.get("next") is None:
                return out
            params = {"limit": page, "after": body["next"]}

    async def command(self, command_id: str) -> httpx.Response:
        # Dots are escaped too: a key "." or ".." would otherwise be a dot-segment of the URL.
        return await self.get("/commands/" + quote(command_id, safe="").replace(".", "%2E"))

    async def transfer(self, transfer_id: str, target: str) -> httpx.Response:
        return await self.get(f"/transfers/{quote(transfer_id, safe='')}", {"to": target})

    async def ready(self) -> tuple[bool, dict]:
        try:
            r = await self.client.get(self.url + "/readyz")
        except httpx.HTTPError:
            return False, {}
        try:
            body = r.json()
        except ValueError:
            body = {}
        return r.status_code == 200, body

    async def metrics(self) -> list[Sample]:
        r = await self.client.get(self.url + "/metrics")
        r.raise_for_status()
        return parse_metrics(r.text)
