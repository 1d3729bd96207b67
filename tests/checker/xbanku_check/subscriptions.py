"""WebSocket subscriptions (DESIGN §4): a ``"*"`` subscriber on each instance, and what its
updates must be once the log is known.

An update is sent "after every change that the view applies", from every instance's partitions
(each instance relays the others'). So, per subscriber and per account, the versions seen after
subscribing are consecutive, each once, in order, each with the balance and the (partition,
offset) of the record that made it, and the last one is the account's final version.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field

import websockets

from .fold import Model


@dataclass
class Subscription:
    url: str
    updates: list[dict] = field(default_factory=list)
    error: str = ""

    async def start(self) -> None:
        self._ws = await websockets.connect(self.url.replace("http://", "ws://") + "/ws", max_size=2**22)
        await self._ws.send(json.dumps({"id": "sub", "op": "subscribe", "accounts": "*"}))
        reply = json.loads(await asyncio.wait_for(self._ws.recv(), 10))
        if not reply.get("ok"):
            raise RuntimeError(f"{self.url}: subscribe refused: {reply}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                msg = json.loads(frame)
                if msg.get("op") == "update":
                    self.updates.append(msg)
        except websockets.ConnectionClosed as e:
            self.error = f"closed: {e}"

    async def stop(self) -> None:
        await self._ws.close()
        await self._reader


async def subscribe_all(urls: list[str], settle: float = 1.0) -> list[Subscription]:
    """One ``"*"`` subscription per instance; waits ``settle`` seconds, since an instance
    starts following the others about 250 ms after its first subscriber (README)."""
    subs = [Subscription(u) for u in urls]
    await asyncio.gather(*(s.start() for s in subs))
    await asyncio.sleep(settle)
    return subs


def judge_updates(sub: Subscription, model: Model) -> list[str]:
    """What is wrong with one subscriber's updates (an empty list when nothing is)."""
    problems = []
    if sub.error:
        problems.append(f"the subscription ended early: {sub.error}")
    seen: dict[str, list[dict]] = defaultdict(list)
    for u in sub.updates:
        seen[u["account"]["id"]].append(u)
    for acc, updates in seen.items():
        history = model.history.get(acc)
        if history is None:
            problems.append(f"updates for {acc}, which the log never created")
            continue
        versions = [u["account"]["version"] for u in updates]
        expected = list(range(versions[0], len(history) + 1))
        if versions != expected:
            missing = sorted(set(expected) - set(versions))
            extra = len(versions) - len(set(versions))
            problems.append(f"{acc}: versions {_runs(versions)}, expected {versions[0]}..{len(history)}"
                            f" ({len(missing)} missing, {extra} repeated)")
        for u in updates:
            v = u["account"]["version"]
            if 1 <= v <= len(history):
                h = history[v - 1]
                if (u["partition"], u["offset"], u["account"]["balance"]) != (h.partition, h.offset, h.balance_after):
                    problems.append(f"{acc} version {v}: update says ({u['partition']}, {u['offset']}) balance "
                                    f"{u['account']['balance']}, the log ({h.partition}, {h.offset}) {h.balance_after}")
                    break
    for acc in model.history.keys() - seen.keys():
        problems.append(f"{acc}: no update at all")
    return problems


def _runs(versions: list[int]) -> str:
    """1..5,7,9..10: a readable summary of a version sequence."""
    out, start = [], None
    for i, v in enumerate(versions):
        if start is None:
            start = v
        if i + 1 == len(versions) or versions[i + 1] != v + 1:
            out.append(f"{start}..{v}" if v != start else f"{v}")
            start = None
    text = ",".join(out)
    return text if len(text) < 120 else text[:120] + "..."
