"""A Kafka broker and a Redis that a nemesis run owns: free loopback ports, its own folders, and
processes it may kill, pause and restart (never anything it did not start).

The broker has three listeners:

* ``DIRECT``: what the checker, the admin calls and the test itself use (never faulted);
* ``PROXIED``: advertised at the Toxiproxy port in front of it, so every connection xbanku makes,
  bootstrap and after metadata, goes through the proxy and its toxics;
* ``CONTROLLER``: KRaft's own.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import redis

from .cluster import free_port

ROOT = Path(__file__).resolve().parents[3]
JARS = ROOT / ".cache" / "kafka" / "libs"


def cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def _alive(proc: subprocess.Popen | None) -> bool:
    return proc is not None and proc.poll() is None


class OwnBroker:
    def __init__(self, workdir: Path, advertised_proxy_port: int):
        self.dir = Path(workdir) / "kafka"
        self.direct_port, self.proxied_port, self.controller_port = free_port(), free_port(), free_port()
        self.proxy_port = advertised_proxy_port
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def direct(self) -> str:
        return f"127.0.0.1:{self.direct_port}"

    @property
    def proxied(self) -> str:
        """Where the proxy forwards to (the PROXIED listener itself)."""
        return f"127.0.0.1:{self.proxied_port}"

    def _properties(self) -> Path:
        base = (ROOT / "docker" / "kafka" / "server.properties").read_text()
        own = f"""
controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}
listeners=DIRECT://127.0.0.1:{self.direct_port},PROXIED://127.0.0.1:{self.proxied_port},CONTROLLER://127.0.0.1:{self.controller_port}
advertised.listeners=DIRECT://127.0.0.1:{self.direct_port},PROXIED://127.0.0.1:{self.proxy_port}
inter.broker.listener.name=DIRECT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,DIRECT:PLAINTEXT,PROXIED:PLAINTEXT
log.dirs={self.dir / "data"}
"""
        path = self.dir / "server.properties"
        path.write_text(base + own)  # later keys win
        return path

    def _java(self) -> list[str]:
        if not any(JARS.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"no Kafka jars in {JARS}: run scripts/install-deps.sh")
        return ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dkafka.logs.dir={self.dir / 'logs'}",
                f"-Dlog4j2.configurationFile={ROOT / 'docker' / 'kafka' / 'log4j2.xml'}", "-cp", f"{JARS}/*"]

    def start(self, timeout: float = 90.0) -> None:
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        props = self._properties()
        if not (self.dir / "data" / "meta.properties").exists():
            subprocess.run([*self._java(), "kafka.tools.StorageTool", "format", "--standalone",
                            "-t", cluster_id(), "-c", str(props)],
                           check=True, capture_output=True, timeout=120)
        out = open(self.dir / "logs" / "stdout.log", "ab")
        self.proc = subprocess.Popen([*self._java(), "kafka.Kafka", str(props)], stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.wait_answering(timeout)

    def answering(self) -> bool:
        r = subprocess.run(["kcat", "-b", self.direct, "-L", "-m", "3"], capture_output=True, text=True)
        return r.returncode == 0 and " broker" in r.stdout

    def wait_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(self.proc):
                raise RuntimeError(f"broker exited; see {self.dir / 'logs'}")
            if self.answering():
                return
            time.sleep(0.5)
        raise TimeoutError(f"broker not answering within {timeout} s; see {self.dir / 'logs'}")

    def kill(self) -> None:
        """SIGKILL: the broker crashes; its data folder stays for the restart."""
        if _alive(self.proc):
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if _alive(self.proc):
            os.kill(self.proc.pid, signal.SIGCONT)  # a paused broker cannot take SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class OwnRedis:
    """No persistence: a restart comes back empty, as a cache node that lost its memory."""

    def __init__(self, workdir: Path):
        self.dir = Path(workdir) / "redis"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                                      "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise TimeoutError(f"redis did not answer within {timeout} s")

    def restart_empty(self) -> None:
        self.stop(kill=True)
        self.start()

    def dbsize(self, db: int = 0) -> int:
        return redis.Redis(port=self.port, db=db).dbsize()

    def stop(self, kill: bool = False) -> None:
        if _alive(self.proc):
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(10)
