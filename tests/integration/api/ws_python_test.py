#!/usr/bin/env python3
"""WebSocket /ws (DESIGN §4) driven by a client not written here: Python's `websockets`.

Starts a real `xbanku --act=serve` against the local broker (own topic, group, data folder,
port), then: pipelines 10,000 commands with 256 in flight and checks every reply's id; checks a
subscriber sees every update of its accounts in order; checks a client that never reads is cut
off while the server's memory stays bounded. Prints its figures; exits non-zero on failure.
"""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import websockets

BINARY = os.environ["XBANKU_BINARY"]
BROKERS = os.environ.get("XBANKU_TEST_BROKERS") or "127.0.0.1:9092"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def metric(port, series):
    _, text = http_get(port, "/metrics")
    m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Service:
    def __init__(self):
        suffix = uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix="xbanku-ws-")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "xbanku.log"), "w")
        self.proc = subprocess.Popen(
            [BINARY, "--act=serve", "--brokers", BROKERS, "--topic", f"xbanku-test-ws-{suffix}",
             "--group", f"xbanku-test-ws-{suffix}", "--partitions", "3",
             "--data-dir", os.path.join(self.dir, "data"), "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if http_get(self.port, "/readyz")[0] == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise SystemExit("xbanku did not become ready (is the broker up? scripts/services.sh up):\n" + self.output())

    def output(self):
        with open(os.path.join(self.dir, "xbanku.log")) as f:
            return f.read()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        code = self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


async def pipelined(port, accounts, total, window):
    """`total` deposits spread over `accounts`, at most `window` in flight on one connection."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=2**20) as ws:
        sent, received, errors, ids_seen = 0, 0, [], set()
        started = time.time()

        async def reader():
            nonlocal received
            while received < total:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if reply.get("op") == "update":
                    continue
                received += 1
                ids_seen.add(reply["id"])
                if not reply.get("ok"):
                    errors.append(reply)

        task = asyncio.create_task(reader())
        while sent < total:
            while sent - received >= window:
                await asyncio.sleep(0.001)
            await ws.send(json.dumps({"id": f"r{sent}", "op": "deposit",
                                      "account": accounts[sent % len(accounts)], "amount": 1}))
            sent += 1
        await asyncio.wait_for(task, 120)
        elapsed = time.time() - started
        return ids_seen, errors, elapsed


async def create_accounts(port, n):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        for i in range(n):
            await ws.send(json.dumps({"id": i, "op": "create", "name": f"WS {i}"}))
        ids = {}
        while len(ids) < n:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert reply["ok"], reply
            ids[reply["id"]] = reply["result"]["id"]
        return [ids[i] for i in range(n)]


async def subscriber_sees_updates_in_order(port, accounts):
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as sub, \
            websockets.connect(f"ws://127.0.0.1:{port}/ws") as cmd:
        await sub.send(json.dumps({"id": "s", "op": "subscribe", "accounts": accounts[:3]}))
        reply = json.loads(await asyncio.wait_for(sub.recv(), 10))
        assert reply["ok"], reply
        for i in range(60):
            await cmd.send(json.dumps({"id": i, "op": "deposit", "account": accounts[i % 3], "amount": 1}))
        for _ in range(60):
            json.loads(await asyncio.wait_for(cmd.recv(), 30))
        versions = {a: [] for a in accounts[:3]}
        while sum(len(v) for v in versions.values()) < 60:
            msg = json.loads(await asyncio.wait_for(sub.recv(), 30))
            if msg.get("op") == "update":
                versions[msg["account"]["id"]].append(msg["account"]["version"])
        for a, seen in versions.items():
            assert seen == sorted(seen) and len(seen) == len(set(seen)) == 20, (a, seen)


async def non_reader_is_cut_off(service, accounts):
    port = service.port
    rss_before = rss_kib(service.proc.pid)
    # max_queue=1 and a tiny receive buffer: the client stops reading its socket almost at once,
    # so the server's per-connection queue is the only place updates can pile up.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    lazy = await websockets.connect(f"ws://127.0.0.1:{port}/ws", sock=raw, max_queue=1)
    await lazy.send(json.dumps({"id": "lazy", "op": "subscribe", "accounts": "*"}))
    connections_with_lazy = metric(port, "xbanku_ws_connections")
    ids, errors, _ = await pipelined(port, accounts, 50000, 256)
    cut = False
    deadline = time.time() + 30
    while time.time() < deadline:
        if metric(port, "xbanku_ws_connections") < connections_with_lazy:
            cut = True
            break
        await asyncio.sleep(0.5)
    rss_after = rss_kib(service.proc.pid)
    lazy.transport.abort()
    print(f"non-reading subscriber: cut off={cut}; server RSS {rss_before} KiB -> {rss_after} KiB")
    assert not errors, errors[:3]
    assert cut, "a client that never reads was not disconnected"
    assert rss_after - rss_before < 200 * 1024, "server memory grew with a non-reading client"


async def main():
    service = Service()
    failed = False
    try:
        accounts = await create_accounts(service.port, 50)
        ids, errors, elapsed = await pipelined(service.port, accounts, 10000, 256)
        print(f"pipelined: 10000 commands, 256 in flight, {elapsed:.2f} s, {10000 / elapsed:.0f} commands/s")
        assert ids == {f"r{i}" for i in range(10000)}, "replies missing or with wrong ids"
        assert not errors, errors[:3]
        total = 0
        for a in accounts:
            status, body = http_get(service.port, f"/accounts/{a}")
            total += json.loads(body)["balance"]
        assert total == 10000, f"balances sum to {total}, expected 10000"
        await subscriber_sees_updates_in_order(service.port, accounts)
        print("subscriber: every update of its accounts, in order")
        await non_reader_is_cut_off(service, accounts)
    except Exception as e:  # report, then fail after stopping the service
        print(f"FAILED: {type(e).__name__}: {e}")
        print(service.output())
        failed = True
    code = service.stop()
    if code != 0:
        print(f"xbanku exited with {code}")
        failed = True
    print("1 passed, 0 failed" if not failed else "0 passed, 1 failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
