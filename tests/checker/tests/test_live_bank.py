"""The bank workload against real instances, and reproductions of the key-scope bugs it found
(fixed: a key reused in another partition; a retry of a key also used elsewhere, answered 422 by
an instance that knew the key only in another partition or held another request with it in
flight; verify comparing a shared mirror with partitions that moved away).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import redis

from xbanku_check.bank import run_bank
from xbanku_check.cluster import LocalCluster, ServiceConfig, wait_quiescent
from xbanku_check.craft import LogBuilder
from xbanku_check.invariants import check_mirror
from xbanku_check.topic import write_records
from xbanku_check.workload import WorkloadConfig

pytestmark = pytest.mark.live
P = 6


def start(services, tmp_path, size: int, redis_db: int | None = None) -> tuple[LocalCluster, str]:
    topic = services.topic("bank")
    config = ServiceConfig(services.binary, services.brokers, topic, topic, P,
                           services.redis_url(redis_db) if redis_db is not None else None,
                           ["--session-timeout-ms", "6000"])
    cluster = LocalCluster(config, tmp_path, size)
    cluster.start()
    return cluster, topic


def bank(services, tmp_path, size: int, config: WorkloadConfig, redis_db: int | None = None):
    cluster, topic = start(services, tmp_path, size, redis_db)
    try:
        # Degraded answers are reported but tolerated: with several instances the idle peer
        # connection bug (test_live_forwarding.py) makes some, depending on timing.
        report = asyncio.run(run_bank(config, cluster.urls, services.brokers, topic, P, cluster.config.redis,
                                      tolerate_degraded=True))
    finally:
        cluster.stop()
    report.verified = {name: status for name, (status, _) in cluster.verify().items()}
    print(report.render())
    return report, cluster


def test_one_instance_with_a_mirror(services, tmp_path):
    if not services.redis_port:
        pytest.skip("XBANKU_TEST_REDIS_PORT is not set")
    db = 7  # accounts have fresh random ids: nothing in the database is touched but theirs
    report, _ = bank(services, tmp_path, 1, WorkloadConfig(ops=400, duration=30, initial_balance=2_000,
                                                           seed=3), redis_db=db)
    assert report.ok, report.render()
    assert report.verdict.compared["GET /commands/{id}"] > 300
    # The mirror check can fail: change one hash behind xbanku's back.
    view = {a.id: a.as_json() for a in report.verdict.model.accounts.values()}
    victim = sorted(view)[0]
    redis.Redis(port=services.redis_port, db=db).hset(victim, "Balance", "-1")
    assert [f.invariant for f in check_mirror(services.redis_url(db), view)] == ["mirror-equals-view"]


def test_three_instances(services, tmp_path):
    report, _ = bank(services, tmp_path, 3, WorkloadConfig(ops=600, duration=40, initial_balance=2_000,
                                                           cross_reuse_rate=0.05, seed=5))
    assert report.ok, report.render()
    assert len(report.verified) == 3


def served(url: str) -> list[int]:
    return httpx.get(url + "/readyz", timeout=5).json()["serving"]


def settled(a, b) -> tuple[list[int], list[int]]:
    """The partitions each of two instances serves, once the group gives each to one of them."""
    for _ in range(100):
        mine, theirs = served(a.url), served(b.url)
        if mine and theirs and not set(mine) & set(theirs) and len(mine) + len(theirs) == P:
            return mine, theirs
        time.sleep(0.2)
    raise TimeoutError(f"the group did not settle: {mine} and {theirs}")


def post(url: str, path: str, body: dict, key: str | None = None) -> httpx.Response:
    return httpx.post(url + path, json=body, headers={"Idempotency-Key": key} if key else {}, timeout=15)


def test_a_key_reused_in_another_partition_is_not_answered_422_once_applied(services, tmp_path):
    cluster, _ = start(services, tmp_path, 2)
    try:
        a, b = sorted(cluster.nodes, key=lambda n: -len(served(n.url)))
        p, q = served(a.url)[:2]  # two partitions a serves; b has never folded a record of them
        log = LogBuilder(P)
        x, y = log.account(p), log.account(q)
        for acc in (x, y):
            assert post(a.url, "/accounts", {"name": "n", "id": acc}).status_code == 201
        assert post(a.url, f"/accounts/{x}/deposit", {"amount": 100}, "K").status_code == 200
        answer = post(b.url, f"/accounts/{y}/deposit", {"amount": 5}, "K")
        balance = httpx.get(f"{a.url}/accounts/{y}", timeout=5).json()["balance"]
    finally:
        cluster.stop()
    print(answer.status_code, answer.text, "balance of y:", balance)
    assert not (answer.status_code == 422 and balance == 5), "422 idempotency_key_reused, yet the deposit was applied"


def test_a_retry_at_an_instance_that_knows_the_key_only_elsewhere_gets_its_first_outcome(services, tmp_path):
    """The nemesis runs' finding with three instances: a retry reached an instance that did not
    own the command's partition but had folded the same key in its own partition (a cross-
    partition reuse), took that record for "another request" and answered 422, while the
    command it retried had been applied."""
    cluster, _ = start(services, tmp_path, 2)
    try:
        a, b = cluster.nodes
        mine, theirs = settled(a, b)
        p, q = mine[0], theirs[0]
        log = LogBuilder(P)
        x, y = log.account(p), log.account(q)
        for acc in (x, y):
            assert post(a.url, "/accounts", {"name": "n", "id": acc}).status_code == 201
        first = post(a.url, f"/accounts/{x}/deposit", {"amount": 100}, "K")
        assert first.status_code == 200, first.text
        other = post(b.url, f"/accounts/{y}/deposit", {"amount": 5}, "K")  # q's own scope
        retry = post(b.url, f"/accounts/{x}/deposit", {"amount": 100}, "K")
        balance = httpx.get(f"{a.url}/accounts/{x}", timeout=5).json()["balance"]
    finally:
        cluster.stop()
    print(other.status_code, other.text, "|", retry.status_code, retry.text)
    assert other.status_code == 200, "the same key in another partition is another key there"
    assert (retry.status_code, retry.json()) == (200, first.json())
    assert balance == 100, "applied once"


def test_a_retry_gets_its_first_outcome_when_the_key_is_also_used_elsewhere(services, tmp_path):
    cluster, topic = start(services, tmp_path, 1)
    url = cluster.urls[0]
    try:
        log = LogBuilder(P)
        x, y = log.account(3), log.account(0)
        for acc in (x, y):
            assert post(url, "/accounts", {"name": "n", "id": acc}).status_code == 201
        first = post(url, f"/accounts/{x}/deposit", {"amount": 100}, "K")
        assert first.status_code == 200
        # Another client's record with the same key, in partition 0 (its own scope: applied).
        write_records(services.brokers, topic, [(0, y.encode(), json.dumps(
            {"AccId": y, "Type": "DepositEvent", "Amount": 5, "CommandId": "K"}).encode())])
        asyncio.run(wait_quiescent([url], services.brokers, topic))
        assert httpx.get(f"{url}/accounts/{y}", timeout=5).json()["balance"] == 5
        retry = post(url, f"/accounts/{x}/deposit", {"amount": 100}, "K")
    finally:
        cluster.stop()
    print(retry.status_code, retry.text)
    assert (retry.status_code, retry.json()) == (200, first.json())


def test_verify_holds_the_shared_mirror_only_against_partitions_still_current(services, tmp_path):
    """Redis is shared: once a partition moved from b to a, a mirrors it with balances newer than
    b's view. ``--act=verify`` on b compared them and failed; it skips what b is behind on."""
    if not services.redis_port:
        pytest.skip("XBANKU_TEST_REDIS_PORT is not set")
    cluster, topic = start(services, tmp_path, 2, redis_db=8)
    try:
        a, b = cluster.nodes
        _, theirs = settled(a, b)
        x = LogBuilder(P).account(theirs[0])
        assert post(a.url, "/accounts", {"name": "n", "id": x}).status_code == 201
        assert post(a.url, f"/accounts/{x}/deposit", {"amount": 10}).status_code == 200
        asyncio.run(wait_quiescent(cluster.urls, services.brokers, topic))
        b.stop()  # a clean leave: a takes b's partitions at once
        for _ in range(100):
            if len(served(a.url)) == P:
                break
            time.sleep(0.2)
        assert post(a.url, f"/accounts/{x}/deposit", {"amount": 5}).status_code == 200
        asyncio.run(wait_quiescent([a.url], services.brokers, topic))
    finally:
        cluster.stop()
    status, out = b.verify()
    print(out)
    assert status == 0, out
    assert f"partitions [{theirs[0]}" in out and "skipped: this view is behind the log there" in out
    status, out = a.verify()
    assert status == 0, out
