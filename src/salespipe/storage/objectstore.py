"""A root URI (a local directory or ``s3://bucket/prefix``) and the few operations on it
that the pipeline needs, on top of ``pyarrow.fs`` so that both behave the same.

S3 endpoint and credentials come from the standard AWS environment variables; they
are passed to the libraries that need them and never logged or put into messages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object: its key below the store root, size and modification time."""

    key: str
    size: int
    mtime: datetime


def _s3_env() -> dict[str, str]:
    """The AWS settings from the environment, in the names delta-rs expects."""
    names = (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
    )
    env = {name: os.environ[name] for name in names if os.environ.get(name)}
    if "AWS_REGION" not in env:
        env["AWS_REGION"] = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return env


class ObjectStore:
    """Keys are ``/``-separated paths relative to the root URI."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        parsed = urlparse(self.root)
        self.is_s3 = parsed.scheme == "s3"
        if self.is_s3:
            env = _s3_env()
            endpoint = env.get("AWS_ENDPOINT_URL")
            endpoint_url = urlparse(endpoint) if endpoint else None
            self.fs: pafs.FileSystem = pafs.S3FileSystem(
                access_key=env.get("AWS_ACCESS_KEY_ID"),
                secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
                session_token=env.get("AWS_SESSION_TOKEN"),
                region=env["AWS_REGION"],
                endpoint_override=endpoint_url.netloc if endpoint_url else None,
                scheme=endpoint_url.scheme if endpoint_url else "https",
            )
            self._base = f"{parsed.netloc}{parsed.path}".rstrip("/")
        elif parsed.scheme in ("", "file"):
            local = Path(parsed.path if parsed.scheme else self.root).resolve()
            self.root = str(local)
            self.fs = pafs.LocalFileSystem()
            self._base = str(local)
        else:
            raise ValueError(f"unsupported storage URI scheme {parsed.scheme!r} in {root}")

    def __repr__(self) -> str:
        return f"ObjectStore({self.root!r})"

    def child(self, key: str) -> ObjectStore:
        """A store rooted at ``key`` below this one (e.g. the Bronze or Silver root)."""
        return ObjectStore(self.uri(key))

    def uri(self, key: str = "") -> str:
        """The full URI of ``key``; what Delta Lake and error messages use."""
        return f"{self.root}/{key}" if key else self.root

    def _path(self, key: str) -> str:
        return f"{self._base}/{key}" if key else self._base

    def exists(self, key: str) -> bool:
        """True when an object (or, locally, a directory) is stored at ``key``."""
        found: bool = self.fs.get_file_info(self._path(key)).type != pafs.FileType.NotFound
        return found

    def info(self, key: str) -> ObjectInfo:
        """Size and modification time of the object at ``key``."""
        return self._info(self.fs.get_file_info(self._path(key)))

    def _info(self, info: pafs.FileInfo) -> ObjectInfo:
        key = info.path[len(self._base) + 1 :]
        mtime = info.mtime or datetime.fromtimestamp(0, UTC)
        return ObjectInfo(key, info.size or 0, mtime.astimezone(UTC))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object below ``prefix`` (recursively), in key order."""
        selector = pafs.FileSelector(self._path(prefix), recursive=True, allow_not_found=True)
        found = [i for i in self.fs.get_file_info(selector) if i.type == pafs.FileType.File]
        for info in sorted(found, key=lambda i: i.path):
            yield self._info(info)

    def put_file(self, local: Path, key: str) -> None:
        """Copy a local file to ``key``; readers see the whole object or none of it."""
        self._write_atomically(key, lambda out: _copy_file(local, out))

    def move_file(self, local: Path, key: str) -> None:
        """Move a local file to ``key``: a rename on a local store (no copy when both
        sit on one file system), an upload on S3. Readers may see a partial object at
        ``key`` meanwhile: for files that only a later commit makes visible."""
        if self.is_s3:
            self.put_file(local, key)
            local.unlink()
            return
        path = Path(self._path(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(local, path)

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key``; readers see the whole object or none of it."""
        self._write_atomically(key, lambda out: out.write(data))

    def delete(self, key: str) -> None:
        """Remove the object at ``key``; one already gone is no error."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(self._path(key))

    def read_bytes(self, key: str) -> bytes:
        with self.fs.open_input_stream(self._path(key)) as stream:
            data: bytes = stream.read()
            return data

    def fetch(self, key: str, local: Path) -> Path:
        """The object at ``key`` as a local file: the file itself when local, else a copy."""
        if not self.is_s3:
            return Path(self._path(key))
        with self.fs.open_input_stream(self._path(key)) as src, local.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return local

    def _write_atomically(self, key: str, write: Callable[[Any], object]) -> None:
        path = self._path(key)
        if self.is_s3:  # an S3 PUT is atomic already
            with self.fs.open_output_stream(path) as out:
                write(out)
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    def delta_options(self) -> dict[str, str]:
        """``storage_options`` for delta-rs: empty locally, the AWS settings on S3."""
        if not self.is_s3:
            return {}
        options = _s3_env()
        if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
        # One Silver writer per table (the CLI run or the Airflow task with
        # max_active_runs=1), so delta-rs needs no external lock.
        options["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"
        return options


def _copy_file(local: Path, out: Any) -> None:
    with local.open("rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
