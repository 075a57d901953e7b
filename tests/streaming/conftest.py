"""Real servers for the streaming tests: a Tansu broker (memory or S3 storage) and a
SeaweedFS S3 server, each on free ports of 127.0.0.1 so parallel worktrees never clash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from salespipe.dev.kafka import TansuBroker, create_topic
from salespipe.dev.s3 import SeaweedS3
from salespipe.storage import ObjectStore

TOPIC = "sales_events"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A fresh in-memory Tansu with ``sales_events`` (3 partitions)."""
    with TansuBroker(log_path=tmp_path / "tansu.log") as running:
        create_topic(running.bootstrap, TOPIC, 3)
        yield running


@pytest.fixture
def bronze(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "data" / "bronze"))


@pytest.fixture
def seaweed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    """A SeaweedFS S3 server enforcing freshly made credentials, with the buckets
    ``tansu`` (the broker's storage) and ``lake``; the AWS_* variables are set for
    the test and the keys are never printed."""
    with SeaweedS3(tmp_path / "weed", ["tansu", "lake"]) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server
