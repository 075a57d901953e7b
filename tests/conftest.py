"""Shared fixtures: a fresh local data dir per test, small sample files, and a real S3
server (SeaweedFS) for the tests marked ``s3``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from salespipe.dev.s3 import SeaweedS3
from salespipe.settings import Settings


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
