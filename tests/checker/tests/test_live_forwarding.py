"""Queries forwarded between instances (README "Several instances"): a peer that closed its idle
connections is reached again on a fresh one (the bug this reproduced is fixed in cluster/peer_client)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from xbanku_check.cluster import LocalCluster, ServiceConfig
from xbanku_check.craft import LogBuilder

pytestmark = pytest.mark.live
P = 6
SERVER_IDLE_TIMEOUT = 30  # xbanku closes a keep-alive connection idle this long (api/config.hpp)


def test_a_query_is_forwarded_after_the_peer_closed_idle_connections(services, tmp_path):
    topic = services.topic("idle")
    cluster = LocalCluster(ServiceConfig(services.binary, services.brokers, topic, topic, P), tmp_path, 2)
    cluster.start()
    try:
        a = cluster.nodes[0]
        remote = next(p for p in range(P) if p not in httpx.get(a.url + "/readyz", timeout=5).json()["serving"])
        acc = LogBuilder(P).account(remote)
        assert httpx.post(a.url + "/accounts", json={"name": "r", "id": acc}, timeout=10).status_code == 201

        async def burst() -> list[int]:  # concurrent forwarded reads: a's pool keeps several connections
            async with httpx.AsyncClient(timeout=10) as c:
                return [r.status_code for r in await asyncio.gather(*(c.get(f"{a.url}/accounts/{acc}")
                                                                       for _ in range(16)))]
        assert set(asyncio.run(burst())) == {200}
        time.sleep(SERVER_IDLE_TIMEOUT + 2)
        answer = httpx.get(f"{a.url}/accounts/{acc}", timeout=10)
    finally:
        cluster.stop()
    assert answer.status_code == 200, f"{answer.status_code} {answer.text}"
