"""Local xbanku instances for the live tests and CLIs: start, stop, kill, verify, and waiting for
quiescence. A nemesis driver can use the same handles (``kill``, ``start`` again on the same data).

Only processes started here are ever signalled, by their own pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .api import Instance
from .topic import end_offsets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServiceConfig:
    """What every instance of one deployment shares."""

    binary: str
    brokers: str
    topic: str
    group: str
    partitions: int = 6
    redis: str | None = None  # redis://127.0.0.1:PORT/DB for a mirror
    extra: list[str] = field(default_factory=list)  # e.g. ["--session-timeout-ms", "6000"]


class Node:
    """One xbanku process with its own data folder and port."""

    def __init__(self, config: ServiceConfig, name: str, data_dir: Path, port: int | None = None):
        self.config, self.name, self.data_dir = config, name, Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.data_dir.with_suffix(".log")
        self.proc: subprocess.Popen | None = None
        self.extra: list[str] = []  # this instance's own flags, after the deployment's

    def _common(self) -> list[str]:
        c = self.config
        args = ["--brokers", c.brokers, "--topic", c.topic, "--data-dir", str(self.data_dir)]
        if c.redis:
            args += ["--redis", c.redis]
        return args

    def start(self) -> None:
        c = self.config
        cmd = [c.binary, "--act=serve", *self._common(), "--partitions", str(c.partitions),
               "--group", c.group, "--listen", f"127.0.0.1:{self.port}", "--instance-id", self.name,
               *c.extra, *self.extra]
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["nice", "-n", "5", *cmd], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()

    @property
    def pid(self) -> int | None:
        """The xbanku process itself (``nice`` execs it, so it keeps the pid)."""
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: a crash, for nemesis drivers."""
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait()

    def verify(self, timeout: float = 300.0) -> tuple[int, str]:
        """``xbanku --act=verify`` on this (stopped) instance's data: (exit status, output)."""
        if self.running:
            raise RuntimeError(f"{self.name} must be stopped before --act=verify")
        r = subprocess.run(["nice", "-n", "5", self.config.binary, "--act=verify", *self._common()],
                           capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not ready within {timeout} s; see {self.log_path}")


class LocalCluster:
    """N instances of one deployment in ``workdir`` (data folders and logs)."""

    def __init__(self, config: ServiceConfig, workdir: Path, size: int):
        self.config = config
        self.nodes = [Node(config, f"{config.group}-n{i + 1}", Path(workdir) / f"n{i + 1}") for i in range(size)]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def start(self, timeout: float = 120.0) -> None:
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            n.wait_ready(timeout)

    def stop(self) -> dict[str, int | None]:
        return {n.name: n.stop() for n in self.nodes}

    def verify(self) -> dict[str, tuple[int, str]]:
        return {n.name: n.verify() for n in self.nodes}


async def _owed(instance: Instance) -> float:
    """Follow-ups not yet in Kafka plus accounts Redis does not have yet."""
    try:
        samples = await instance.metrics()
    except httpx.HTTPError:
        return float("inf")
    return sum(s.value for s in samples if s.name in ("xbanku_outbox_pending", "xbanku_mirror_lag"))


async def wait_quiescent(urls: list[str], brokers: str, topic: str, timeout: float = 120.0,
                         settle: float = 1.0) -> None:
    """Returns once every instance is ready with no lag, no unsent follow-up and no mirror debt,
    and the topic's end offsets did not move for ``settle`` seconds meanwhile (follow-ups are
    records too)."""
    instances = [Instance(u, patience=0) for u in urls]
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            before = await asyncio.to_thread(end_offsets, brokers, topic)
            await asyncio.sleep(settle)
            states = await asyncio.gather(*(i.ready() for i in instances))
            owed = await asyncio.gather(*(_owed(i) for i in instances))
            lagging = any(not ok or any(v != 0 for v in body.get("lag", {}).values()) for ok, body in states)
            after = await asyncio.to_thread(end_offsets, brokers, topic)
            if not lagging and not any(owed) and before == after:
                return
        raise TimeoutError(f"not quiescent within {timeout} s")
    finally:
        for i in instances:
            await i.aclose()
