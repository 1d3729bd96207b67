"""Live fixtures: a Kafka broker, a Redis and the xbanku binary, found in the environment the
way the C++ integration tests find them (scripts/test.sh exports them; ctest sets XBANKU_BINARY):

  XBANKU_TEST_BROKERS     host:port of the broker      (live tests are skipped without it)
  XBANKU_TEST_REDIS_PORT  port of Redis on 127.0.0.1   (mirror checks are skipped without it)
  XBANKU_BINARY           the xbanku executable        (default: build/xbanku)
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Services:
    brokers: str
    redis_port: int | None
    binary: str

    def topic(self, stem: str) -> str:
        """A fresh topic (and group) name: live tests never share state."""
        return f"chk-{stem}-{uuid.uuid4().hex[:8]}"

    def redis_url(self, db: int) -> str | None:
        return f"redis://127.0.0.1:{self.redis_port}/{db}" if self.redis_port else None


@pytest.fixture(scope="session")
def services() -> Services:
    brokers = os.environ.get("XBANKU_TEST_BROKERS")
    binary = os.environ.get("XBANKU_BINARY", str(ROOT / "build" / "xbanku"))
    if not brokers:
        pytest.skip("XBANKU_TEST_BROKERS is not set (no Kafka broker for live tests)")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"no xbanku binary at {binary} (set XBANKU_BINARY)")
    port = os.environ.get("XBANKU_TEST_REDIS_PORT")
    return Services(brokers, int(port) if port else None, binary)
