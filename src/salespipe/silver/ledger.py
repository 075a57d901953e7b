"""Which Bronze objects a Silver table already holds, kept in its Delta commits.

Each Silver commit carries the objects it took in under ``salespipe.ledger`` in the
commit's metadata, so the bookkeeping commits atomically with the data: a crash
before the commit leaves neither, and the next run takes the same objects again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from deltalake import CommitProperties, DeltaTable

LEDGER_KEY = "salespipe.ledger"
TABLE_PROPERTIES: dict[str, str] = {"delta.enableExpiredLogCleanup": "false"}
"""Properties of every Silver table. The ledger lives in the commit history, so the
log must never be pruned: by default each checkpoint (every 100 commits) deletes log
entries older than 30 days, which would make Silver take those Bronze objects again."""


@dataclass(frozen=True)
class FileEntry:
    """One Bronze object as a Silver commit saw it."""

    key: str
    status: str
    """``merged`` (its lines were judged) or ``rejected`` (the whole file was refused)."""
    lines: int = 0
    """Lines read (accepted + quarantined); 0 for a rejected file."""
    quarantined: int = 0
    sales: str = "0"
    """Total of the file's sales values that read as numbers (a decimal string)."""
    size: int = 0
    """Object size when taken: a replayed event object can grow under the same key."""
    last_position: int | None = None
    """For an event object: the last Kafka offset taken; a grown object is taken again
    from the next offset on."""
    error: str | None = None
    """For a rejected file: the one-line reason naming the file and rule."""


@dataclass
class Ledger:
    """The union of every commit's entries: Bronze key -> its latest entry."""

    files: dict[str, FileEntry] = field(default_factory=dict)

    @property
    def rejected(self) -> list[FileEntry]:
        return [e for e in self.files.values() if e.status == "rejected"]


def commit_properties(batch_id: str, entries: list[FileEntry]) -> CommitProperties:
    """Commit metadata recording ``entries`` as taken in by this commit."""
    payload = {"batch_id": batch_id, "files": [asdict(e) for e in entries]}
    return CommitProperties(custom_metadata={LEDGER_KEY: json.dumps(payload)})


def keep_history(table: DeltaTable) -> None:
    """Give a table created before ``TABLE_PROPERTIES`` existed those properties (one
    metadata commit, once); tables created since carry them from their first commit."""
    configured = table.metadata().configuration
    missing = {k: v for k, v in TABLE_PROPERTIES.items() if configured.get(k) != v}
    if missing:
        table.alter.set_table_properties(missing)
        table.update_incremental()  # the caller commits next, on top of this version


def read_ledger(table: DeltaTable | None) -> Ledger:
    """Everything the table's commits recorded; empty for a missing table."""
    ledger = Ledger()
    if table is None:
        return ledger
    for commit in reversed(table.history()):
        payload: Any = commit.get(LEDGER_KEY)
        if not payload:
            continue
        for raw in json.loads(payload)["files"]:
            entry = FileEntry(**raw)
            ledger.files[entry.key] = entry
    return ledger
