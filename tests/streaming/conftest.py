"""Real servers for the streaming tests: a Tansu broker (memory or S3 storage) and a
SeaweedFS S3 server, each on free ports of 127.0.0.1 so parallel worktrees never clash."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from salespipe.dev.kafka import TansuBroker, create_topic, free_port
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


def _free_port_pair() -> int:
    """A port p with p and p + 10000 free (SeaweedFS puts gRPC at port + 10000)."""
    for _ in range(100):
        port = free_port()
        if port + 10000 < 65536:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair")


@dataclass
class SeaweedS3:
    endpoint: str
    bucket: str
    env: dict[str, str]


@pytest.fixture
def seaweed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    """A SeaweedFS S3 server enforcing freshly made credentials, with one bucket.

    The AWS_* variables are set for the test (ObjectStore and the Tansu launcher read
    them); the keys are random per test and never printed.
    """
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    bucket = "tansu"
    env = {
        "AWS_ACCESS_KEY_ID": uuid.uuid4().hex[:20],
        "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex,
    }
    ports = {
        name: _free_port_pair()
        for name in ("s3.port", "master.port", "volume.port", "filer.port", "admin.port")
    }
    args = [f"-{name}={port}" for name, port in ports.items()]
    args += [f"-debug.port={free_port()}", "-s3.port.iceberg=0", "-s3.port.lance=0"]
    data = tmp_path / "weed"
    data.mkdir()
    log = (tmp_path / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            weed,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-admin.ui=false",
            "-webdav=false",
            f"-bucket={bucket},lake",
            *args,
        ],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    for name, value in {**env, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                store = ObjectStore(f"s3://{bucket}/probe")
                store.write_bytes("ready", b"1")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"SeaweedFS did not start; see {tmp_path / 'weed.log'}"
                    ) from None
                time.sleep(0.2)
        yield SeaweedS3(endpoint, bucket, env)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
