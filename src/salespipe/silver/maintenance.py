"""Retention of the Silver Delta tables: remove the data files no version needs any more.

A MERGE that corrects known lines rewrites the files holding them: the new version
stops referencing the old files (the log records them as removed) but they stay in
storage, so that earlier versions can still be read. ``vacuum_silver`` deletes them
once the commit that removed them is older than the retention, and deletes files no
commit ever added (a Silver run that crashed between writing its files and committing
them) once they were written longer than the retention ago.

What it never touches:

- a file the current version references: delta-rs's VACUUM (full mode) only lists
  files the current snapshot does not hold;
- a file younger than the retention (at least a day): a concurrent Silver run's files,
  written but not committed yet, are minutes old, so they cannot be vacuumed;
- the Delta log. Every commit stays (no ``cleanup_metadata``), because Silver's ledger
  of the Bronze objects already taken lives in the commits' metadata: expiring log
  entries would make Silver take those objects again.

Time travel afterwards: the table as it was at any moment within the last
``retention_days`` still loads (every file it referenced was removed, if at all, by a
commit younger than the retention). Older versions stay in the history, with their
ledger entries, but loading their data may fail on files that are gone.

delta-rs decides what to delete (a dry-run VACUUM); the deletion is done here, because
delta-rs's own writes two commits per run (even a run that finds only tombstones of
files gone already, which it lists again every time). Done here, VACUUM is never a
writer of the log that could race a Silver commit, and the tables' versions move only
when their data does (the DAGs' ``publish`` tells from the version whether Silver
committed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from salespipe.settings import Settings
from salespipe.silver.batch import open_table
from salespipe.silver.tables import QUARANTINE, SALES

DEFAULT_RETENTION_DAYS = 7
"""The CRD's default ``spec.silver.retentionDays``: a week of time travel."""

LOG_DIR = "_delta_log"


@dataclass(frozen=True)
class TableVacuum:
    """What the vacuum of one table removed (on a dry run: would remove)."""

    table: str
    version: int | None
    """The version whose files were kept; None when the table does not exist yet."""
    files: tuple[str, ...]
    """The files removed, relative to the table's folder."""
    seconds: float


@dataclass(frozen=True)
class VacuumReport:
    """The vacuum of every Silver table."""

    retention_days: int
    dry_run: bool
    tables: tuple[TableVacuum, ...]

    @property
    def removed(self) -> int:
        """Files removed (or, on a dry run, that would be) across the tables."""
        return sum(len(t.files) for t in self.tables)

    def to_dict(self, with_files: bool = True) -> dict[str, Any]:
        """JSON-able; ``with_files=False`` keeps only the counts (for a small XCom)."""
        tables = [
            {
                "table": t.table,
                "version": t.version,
                "removed": len(t.files),
                **({"files": list(t.files)} if with_files else {}),
                "seconds": round(t.seconds, 3),
            }
            for t in self.tables
        ]
        return {
            "retention_days": self.retention_days,
            "dry_run": self.dry_run,
            "removed": self.removed,
            "tables": tables,
        }


def vacuum_silver(
    settings: Settings, retention_days: int = DEFAULT_RETENTION_DAYS, dry_run: bool = False
) -> VacuumReport:
    """Delete the files of ``sales`` and ``sales_quarantine`` that the current version
    does not reference and that are older than ``retention_days``; safe to run again
    (a second run finds nothing) and at any time (see the module's doc)."""
    if retention_days < 1:
        raise ValueError(f"retention of {retention_days} days: expected at least 1 day")
    tables = tuple(_vacuum(settings, name, retention_days, dry_run) for name in (SALES, QUARANTINE))
    return VacuumReport(retention_days, dry_run, tables)


def _vacuum(settings: Settings, name: str, retention_days: int, dry_run: bool) -> TableVacuum:
    started = time.perf_counter()
    table = open_table(settings.silver, name)
    if table is None:
        return TableVacuum(name, None, (), time.perf_counter() - started)
    candidates = table.vacuum(
        retention_hours=retention_days * 24,
        dry_run=True,
        # Delta's floor is the table's deletedFileRetentionDuration (a week); the CRD
        # allows a day and up, and vacuum_silver refuses less than a day.
        enforce_retention_duration=False,
        full=True,
    )
    # delta-rs lists an expired tombstone on every run, whether its file is still there
    # or not: only the data files actually present are reported and deleted.
    store = settings.silver.child(name)
    root = f"{store.uri()}/"
    present = {i.key for i in store.list("") if not i.key.startswith(f"{LOG_DIR}/")}
    relative = (c[len(root) :] if c.startswith(root) else c for c in candidates)
    files = tuple(sorted(f for f in relative if f in present))
    if not dry_run:
        for file in files:
            store.delete(file)
    return TableVacuum(name, table.version(), files, time.perf_counter() - started)
