"""Shared fixtures: a fresh local data dir per test, and real servers on free ports of
127.0.0.1: SeaweedFS for S3 (credentials enforced) and a Tansu Kafka broker."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from salespipe.dev.airflow import LocalAirflow
from salespipe.dev.kafka import TansuBroker, create_topic
from salespipe.dev.s3 import SeaweedS3
from salespipe.settings import Settings
from salespipe.storage import ObjectStore

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="salespipe-test-airflow-")


def pytest_configure(config: pytest.Config) -> None:
    """Airflow reads its configuration once, at first import: point it at a throwaway
    home (SQLite, no examples, our dags/) before any test module can import it."""
    os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parents[1] / "dags")
    os.environ.pop("SALESPIPE_EXECUTION_MODE", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings over a fresh local data dir."""
    return Settings(data_dir=str(tmp_path / "data"), scratch_dir=str(tmp_path))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS for the session, with a bucket ``lake`` and random credentials."""
    with SeaweedS3(tmp_path_factory.mktemp("seaweed"), ["lake"]) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> SeaweedS3:
    """The S3 server's AWS_* variables set for one test."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def s3_settings(s3_env: SeaweedS3, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings whose layers live on the real S3 server, under a prefix per test."""
    prefix = request.node.name.replace("[", "_").replace("]", "_")
    return Settings(data_dir=f"s3://lake/{prefix}-{os.getpid()}", scratch_dir=str(tmp_path))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A fresh in-memory Tansu with ``sales_events`` (3 partitions)."""
    with TansuBroker(log_path=tmp_path / "tansu.log") as running:
        create_topic(running.bootstrap, "sales_events", 3)
        yield running


@pytest.fixture
def seaweed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    """A SeaweedFS S3 server enforcing freshly made credentials, with the buckets
    ``tansu`` (the broker's storage) and ``lake``; the AWS_* variables are set for
    the test and the keys are never printed."""
    with SeaweedS3(tmp_path / "weed", ["tansu", "lake"]) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def bronze(tmp_path: Path) -> ObjectStore:
    """A fresh local Bronze store."""
    return ObjectStore(str(tmp_path / "data" / "bronze"))


@pytest.fixture(scope="session")
def local_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    """A real Airflow (api-server, scheduler, dag-processor on SQLite, parallelism 2)
    serving ``dags/``, for the session; stopped by process group. Runs whose conf
    names no data dir use ``<home>/lake`` (the workers' ``SALESPIPE_DATA_DIR``)."""
    home = tmp_path_factory.mktemp("airflow")
    with LocalAirflow(home, data_dir=home / "lake", parallelism=2) as airflow:
        yield airflow
