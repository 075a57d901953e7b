"""Land CSV drops in Bronze: copy as-is, date-partitioned, once per content."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from salespipe.bronze.layout import batch_partition, landed_marker
from salespipe.storage import ObjectStore


@dataclass(frozen=True)
class Landing:
    """The outcome of landing one file."""

    source: str
    key: str
    """The Bronze object key the content lives at (the earlier one for a repeat)."""
    landed: bool
    """False when the same content had landed before: nothing was written."""
    size: int


def content_hash(path: Path) -> str:
    """SHA-256 of a file, read in chunks so size does not matter."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def land(bronze: ObjectStore, path: Path, now: datetime | None = None) -> Landing:
    """Copy ``path`` into today's Bronze partition unless its content already landed.

    The object is written before the index marker, so a crash in between leaves an
    unindexed copy that the next attempt writes again at the same key (same day) and
    that Silver's line-key dedupe would absorb (another day): nothing is lost.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    digest = content_hash(path)
    marker = landed_marker(digest)
    size = path.stat().st_size
    if bronze.exists(marker):
        previous = json.loads(bronze.read_bytes(marker))
        return Landing(str(path), previous["key"], False, size)
    landed_at = now or datetime.now(UTC)
    # The short hash keeps two different files of the same name apart on one day.
    key = f"{batch_partition(landed_at.date())}/{path.stem}.{digest[:12]}{path.suffix.lower()}"
    bronze.put_file(path, key)
    record = {
        "key": key,
        "source_name": path.name,
        "sha256": digest,
        "size": size,
        "landed_at": landed_at.isoformat(),
    }
    bronze.write_bytes(marker, json.dumps(record).encode())
    return Landing(str(path), key, True, size)


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files named directly, plus the ``*.csv`` files inside named directories."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.csv") if p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return files
