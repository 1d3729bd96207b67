"""Toxiproxy (Shopify's TCP fault proxy, built from its Go module by scripts/tools-install.sh into
.cache/toxiproxy) run by the nemesis, and a small client of its REST API.

A proxy listens on a loopback port and forwards to an upstream; toxics act on the traffic:
``latency`` (ms, jitter), ``bandwidth`` (KB/s), ``reset_peer`` (TCP RST after a timeout),
``timeout`` (a black hole: data is dropped, the connection stays open), ``slicer`` (small
segments with delays). Disabling a proxy closes its connections and refuses new ones.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from .cluster import free_port

ROOT = Path(__file__).resolve().parents[3]
BINARY = ROOT / ".cache" / "toxiproxy" / "toxiproxy-server"


class Toxiproxy:
    def __init__(self, workdir: Path, binary: Path = BINARY):
        if not Path(binary).exists():
            raise RuntimeError(f"no Toxiproxy at {binary}: run scripts/tools-install.sh")
        self.binary, self.log = Path(binary), Path(workdir) / "toxiproxy.log"
        self.port = free_port()
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([str(self.binary), "-host", "127.0.0.1", "-port", str(self.port)],
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.api.get("/version").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(f"Toxiproxy did not answer; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.api.close()

    def proxy(self, name: str, listen_port: int, upstream: str) -> None:
        r = self.api.post("/proxies", json={"name": name, "listen": f"127.0.0.1:{listen_port}",
                                            "upstream": upstream, "enabled": True})
        r.raise_for_status()

    def toxic(self, proxy: str, kind: str, stream: str = "downstream", **attributes: int) -> str:
        """Adds a toxic on one direction (downstream: upstream → client); returns its name."""
        name = f"{kind}-{stream}"
        r = self.api.post(f"/proxies/{proxy}/toxics", json={"name": name, "type": kind, "stream": stream,
                                                            "toxicity": 1.0, "attributes": attributes})
        r.raise_for_status()
        return name

    def both_ways(self, proxy: str, kind: str, **attributes: int) -> None:
        for stream in ("upstream", "downstream"):
            self.toxic(proxy, kind, stream, **attributes)

    def heal(self, proxy: str) -> None:
        """Removes every toxic of ``proxy`` and enables it again."""
        for toxic in self.api.get(f"/proxies/{proxy}/toxics").json():
            self.api.delete(f"/proxies/{proxy}/toxics/{toxic['name']}").raise_for_status()
        self.enable(proxy, True)

    def enable(self, proxy: str, enabled: bool) -> None:
        self.api.post(f"/proxies/{proxy}", json={"enabled": enabled}).raise_for_status()
