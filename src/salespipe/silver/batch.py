"""The Silver batch step on the embedded engine: DuckDB judges, delta-rs commits.

One run takes every Bronze CSV object that the ``sales`` table's ledger does not
hold yet: stages them in DuckDB (spilling to disk past the memory limit), runs the
shared plan, appends the rejects to ``sales_quarantine`` and MERGEs the latest
version of each line into ``sales``. Both commits carry the ledger, so a crash at any
point leaves the last committed versions readable and the next run converges.
"""

from __future__ import annotations

import csv
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from salespipe.bronze.events import EVENTS_DIR, SOURCE_SYSTEM, event_rows_sql, parse_object_key
from salespipe.bronze.layout import batch_files
from salespipe.contract.arrow import SQL_TYPES
from salespipe.contract.rules import ISO_DATE, FileReason, Reason
from salespipe.contract.schema import (
    DECIMAL_SCALE,
    FIELDS,
    FieldKind,
    normalize_header,
    required_names,
)
from salespipe.settings import Settings
from salespipe.silver.dialect import DUCKDB, quote_literal
from salespipe.silver.ledger import FileEntry, commit_properties, read_ledger
from salespipe.silver.plan import convention_sql, dedupe_order, raw, validated_sql
from salespipe.silver.tables import QUARANTINE, QUARANTINE_SCHEMA, SALES, SALES_SCHEMA
from salespipe.storage import ObjectInfo, ObjectStore

STREAM_ABOVE = 250_000
"""Lines per run above which the MERGE streams its source instead of collecting it:
collecting lets delta-rs skip target files outside the source's key range, at the cost
of holding the batch in memory."""

BATCH_ROWS = 122_880
"""Rows per Arrow batch handed from DuckDB to delta-rs: bounded memory in between."""


@dataclass
class SilverResult:
    """What one Silver run did."""

    batch_id: str
    files: list[FileEntry] = field(default_factory=list)
    accepted: int = 0
    """Lines that passed every check (before the line-key dedupe)."""
    quarantined: int = 0
    written: int = 0
    """Distinct lines handed to the MERGE (latest version per line key)."""
    inserted: int = 0
    updated: int = 0
    version: int | None = None
    """The ``sales`` table version after the run; None when no table exists."""
    by_reason: Counter[str] = field(default_factory=Counter)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def committed(self) -> bool:
        """True when the run changed Silver (new files were taken in)."""
        return bool(self.files)


class RejectedFile(Exception):
    """A Bronze file refused whole; the message names the file, line and rule."""

    def __init__(self, uri: str, reason: FileReason, detail: str) -> None:
        super().__init__(f"{uri}: line 1: {reason.value}: {detail}")
        self.reason = reason


def open_table(store: ObjectStore, name: str) -> DeltaTable | None:
    """The Delta table ``name`` in ``store``, or None before its first commit."""
    try:
        return DeltaTable(store.uri(name), storage_options=store.delta_options())
    except TableNotFoundError:
        return None


def _read_header(path: Path, uri: str) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise RejectedFile(
            uri, FileReason.UNREADABLE, f"header is not UTF-8 ({exc.reason})"
        ) from exc
    if not header:
        raise RejectedFile(uri, FileReason.UNREADABLE, "empty file: no header line")
    return header


def column_mapping(header: list[str], uri: str) -> tuple[dict[str, int], list[str]]:
    """Canonical name -> column position, and the extra columns that are ignored.

    Headers match by normalized name in any order; a missing required column rejects
    the whole file with the missing names.
    """
    positions: dict[str, int] = {}
    extra: list[str] = []
    canonical = {f.name for f in FIELDS}
    for index, name in enumerate(header):
        normalized = normalize_header(name)
        if normalized in canonical and normalized not in positions:
            positions[normalized] = index
        else:
            extra.append(name)
    missing = [name for name in required_names() if name not in positions]
    if missing:
        raise RejectedFile(
            uri, FileReason.MISSING_COLUMNS, f"missing required columns: {', '.join(missing)}"
        )
    return positions, extra


_CENT = Decimal(1).scaleb(-DECIMAL_SCALE)


class _Sources:
    """Bronze CSV files as one relation of raw text, with the facts to trace each line.

    Each file is read twice, never materialized: a first pass records its malformed
    records (DuckDB's rejects), detects its date format and sums its sales; the
    ``source`` view reads it again, numbering records with ``row_number() OVER ()``,
    which DuckDB runs as an order-preserving streaming window (one thread per file,
    files in parallel). Per-file facts are literals in each file's SELECT: no join.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.reads: list[str] = []
        self.objects: list[str] = []
        """Object key of each registered file, by its ``_file`` index."""
        self.systems: list[str] = []
        """Source system of each registered file, by its ``_file`` index."""
        con.execute(
            "CREATE TABLE malformed (_file INTEGER, _source_object VARCHAR, _event_time TIMESTAMP,"
            " line BIGINT, csv_line VARCHAR, detail VARCHAR)"
        )

    def add(self, info: ObjectInfo, path: Path, positions: dict[str, int], width: int) -> FileEntry:
        """Register one CSV file; returns its ledger entry: lines held (records and
        malformed lines) and the total of its sales values that read as numbers."""
        file = len(self.objects)
        self.objects.append(info.key)
        self.systems.append("batch")
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        read = (
            f"read_csv({quote_literal(str(path))}, columns={columns}, header=true,"
            " auto_detect=false, delim=',', quote='\"', escape='\"', strict_mode=true,"
            " null_padding=false, ignore_errors=true@REJECTS@)"
        )
        select = ", ".join(
            f"c{positions[f.name]} AS {raw(f.name)}"
            if f.name in positions
            else f"NULL AS {raw(f.name)}"
            for f in FIELDS
        )
        rejects = ", store_rejects=true, rejects_table='rejects', rejects_scan='reject_scans'"
        first_pass = f"(SELECT 0 AS _f, {select} FROM {read.replace('@REJECTS@', rejects)})"
        # fetchall, not fetchone: DuckDB stores the rejects when the scan completes.
        rows = self.con.execute(convention_sql(first_pass, "_f")).fetchall()
        _, convention, records, sales = rows[0] if rows else (0, None, 0, None)
        event_time = info.mtime.replace(tzinfo=None)
        self.con.execute(
            "INSERT INTO malformed SELECT ?, ?, ?, line, any_value(csv_line),"
            " min(error_message) FROM rejects"
            " WHERE scan_id = (SELECT max(scan_id) FROM reject_scans) GROUP BY line",
            [file, info.key, event_time],
        )
        skipped = [
            int(r[0])
            for r in self.con.execute(
                "SELECT line FROM malformed WHERE _file = ? ORDER BY line", [file]
            ).fetchall()
        ]
        numbered = (
            f"SELECT *, row_number() OVER () AS _ordinal FROM {read.replace('@REJECTS@', '')}"
        )
        convention_sql_literal = quote_literal(convention) if convention else "NULL"
        self.reads.append(
            f"SELECT {select}, {file} AS _file, {convention_sql_literal} AS _date_convention,"
            f" {quote_literal(info.key)} AS _source_object,"
            f" {position_expression('_ordinal', skipped)} AS _source_position,"
            f" TIMESTAMP '{event_time:%Y-%m-%d %H:%M:%S.%f}' AS _event_time"
            f" FROM ({numbered})"
        )
        total = Decimal(sales or 0).quantize(_CENT)
        return FileEntry(info.key, "merged", int(records) + len(skipped), sales=str(total))

    def add_events(self, info: ObjectInfo, path: Path, after: int | None) -> FileEntry:
        """Register one Bronze event object (read as ``bronze.events`` says), from the
        offset after ``after`` on when it was taken before and has grown."""
        file = len(self.objects)
        self.objects.append(info.key)
        self.systems.append(SOURCE_SYSTEM)
        rows = f"({event_rows_sql(str(path), info.key, info.mtime)})"
        if after is not None:
            rows = f"(SELECT * FROM {rows} WHERE _source_position > {int(after)})"
        select = ", ".join(f"{f.name} AS {raw(f.name)}" for f in FIELDS)
        self.reads.append(
            f"SELECT {select}, {file} AS _file, '{ISO_DATE.name}' AS _date_convention,"
            f" _source_object, _source_position, _event_time FROM {rows}"
        )
        lines, total, last = self.con.execute(
            f"SELECT count(*), sum(TRY_CAST(sales AS {SQL_TYPES[FieldKind.DECIMAL]})),"
            " max(_source_position)"
            f" FROM {rows}"
        ).fetchall()[0]
        return FileEntry(
            info.key,
            "merged",
            int(lines),
            sales=str(Decimal(total or 0).quantize(_CENT)),
            size=info.size,
            last_position=int(last) if last is not None else after,
        )

    def finish(self) -> None:
        """Expose the ``source`` relation and the ``validated`` verdicts over it."""
        empty = (
            "SELECT "
            + ", ".join(
                [f"NULL::VARCHAR AS {raw(f.name)}" for f in FIELDS]
                + [
                    "NULL::VARCHAR AS _date_convention",
                    "NULL::INTEGER AS _file",
                    "NULL::VARCHAR AS _source_object",
                    "NULL::BIGINT AS _source_position",
                    "NULL::TIMESTAMP AS _event_time",
                ]
            )
            + " WHERE false"
        )
        union = " UNION ALL ".join(self.reads) or empty
        self.con.execute(f"CREATE VIEW source AS {union}")
        self.con.execute(
            f"CREATE VIEW validated AS {validated_sql(DUCKDB, 'source', _SOURCE_LINEAGE)}"
        )


def position_expression(ordinal: str, skipped: list[int]) -> str:
    """SQL for the line of the record numbered ``ordinal`` (1-based) in its file.

    DuckDB counts lines as records with the header as line 1, and skips malformed
    records, so a record's line is its ordinal + 1 + the malformed lines before it.
    With the skips sorted, the shift steps up after each run of accepted records; the
    expression is a balanced CASE tree over those steps: log2(skips) tests per row.
    """
    steps: list[tuple[int, int]] = [(0, 1)]  # (accepted records before, shift after)
    for count, line in enumerate(skipped, start=1):
        accepted = line - 1 - count
        if steps[-1][0] == accepted:
            steps[-1] = (accepted, count + 1)
        else:
            steps.append((accepted, count + 1))

    def tree(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return str(steps[lo][1])
        mid = (lo + hi) // 2
        return (
            f"CASE WHEN {ordinal} > {steps[mid][0]} THEN {tree(mid, hi)} ELSE {tree(lo, mid)} END"
        )

    return f"{ordinal} + {tree(0, len(steps))}"


def _connect(settings: Settings, scratch: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={
            "memory_limit": settings.memory_limit,
            "threads": settings.threads,
            "temp_directory": str(scratch / "spill"),
            "preserve_insertion_order": True,
        }
    )
    con.execute("SET enable_progress_bar = false")  # our own bars, not DuckDB's
    return con


_SOURCE_LINEAGE = ("_file", "_source_object", "_source_position", "_event_time")
"""Lineage that varies per row or file, carried through the plan (the object key for
the dedupe order)."""

_EXPORTED_LINEAGE = ("_file", "_source_position", "_event_time")
"""Lineage that leaves DuckDB; the rest (object, system, batch, time of the run) is
constant per file or per run, so it is added in Arrow, not copied row by row."""


def _judged_sql(key: tuple[str, ...]) -> str:
    """Every rejected line, plus the latest accepted version of each line key, in one
    pass: judging a line is the costly part, so it happens once per run.

    A rejected line's raw text and verdict travel packed in one struct column
    (``_rejected``, NULL for accepted lines): the window that picks the latest version
    moves every row it sees, and 24 raw columns would double its work.
    """
    typed = ", ".join(f.name for f in FIELDS)
    raws = "[" + ", ".join(raw(f.name) for f in FIELDS) + "]"
    rejected = (
        f"CASE WHEN _reason IS NOT NULL THEN struct_pack(raw := {raws}, reason := _reason,"
        " reasons := _reasons, field := _field, value := _value) END AS _rejected"
    )
    return (
        f"SELECT {typed}, {', '.join(_EXPORTED_LINEAGE)}, {rejected}"
        " FROM validated QUALIFY _reason IS NOT NULL OR row_number() OVER ("
        f"PARTITION BY _reason IS NULL, {', '.join(key)} ORDER BY {dedupe_order()}) = 1"
    )


_MALFORMED_SQL = f"""
    SELECT {", ".join(f"NULL AS {f.name}" for f in FIELDS)},
      '{Reason.MALFORMED_LINE.value}' AS _reason, ['{Reason.MALFORMED_LINE.value}'] AS _reasons,
      NULL AS _field, NULL AS _value, csv_line AS _raw_line, detail AS _detail,
      CAST(? AS TIMESTAMP) AS _ingested_at, 'batch' AS _source_system, _source_object,
      line AS _source_position, CAST(? AS VARCHAR) AS _batch_id, _event_time
    FROM malformed ORDER BY _file, line"""


def merge_predicate(key: tuple[str, ...]) -> str:
    return " AND ".join(f"t.{k} = s.{k}" for k in key)


NEWER = (
    "s._event_time > t._event_time OR (s._event_time = t._event_time AND"
    " (s._source_object > t._source_object OR (s._source_object = t._source_object"
    " AND s._source_position > t._source_position)))"
)
"""When a MERGE replaces a Silver line: only by a strictly later version (see plan), so
taking the same input twice changes nothing."""

_SALES_COLUMNS = SALES_SCHEMA.names


@dataclass(frozen=True)
class _Lineage:
    """Completes the lineage of judged rows in Arrow from per-file and per-run facts."""

    objects: pa.Array
    systems: pa.Array
    batch_id: str
    ingested_at: datetime

    def columns(self, batch: pa.RecordBatch) -> dict[str, pa.Array]:
        rows, file = batch.num_rows, batch.column("_file")
        return {
            "_ingested_at": pc.fill_null(pa.nulls(rows, _UTC), pa.scalar(self.ingested_at, _UTC)),
            "_source_system": pc.take(self.systems, file),
            "_source_object": pc.take(self.objects, file),
            "_source_position": batch.column("_source_position"),
            "_batch_id": pc.fill_null(pa.nulls(rows, pa.string()), self.batch_id),
            "_event_time": batch.column("_event_time").cast(_UTC),
        }


_UTC = pa.timestamp("us", tz="UTC")


class _Split:
    """Splits the judged stream: accepted lines flow on to the MERGE, rejected ones
    are spooled to a local Parquet file for the quarantine commit that follows."""

    def __init__(self, source: pa.RecordBatchReader, spool: Path, lineage: _Lineage) -> None:
        self.source = source
        self.spool = spool
        self.lineage = lineage
        self.writer: pq.ParquetWriter | None = None
        self.accepted = 0
        self.per_file: Counter[str] = Counter()
        self.by_reason: Counter[str] = Counter()

    def _spool(self, batch: pa.RecordBatch) -> None:
        verdict = batch.column("_rejected")
        raws = pc.struct_field(verdict, "raw")
        columns = {f.name: pc.list_element(raws, i) for i, f in enumerate(FIELDS)}
        columns |= {
            f"_{name}": pc.struct_field(verdict, name)
            for name in ("reason", "reasons", "field", "value")
        }
        nulls = pa.nulls(batch.num_rows, pa.string())
        columns |= {"_raw_line": nulls, "_detail": nulls} | self.lineage.columns(batch)
        self.add_rejected(
            pa.Table.from_pydict(
                {name: columns[name] for name in QUARANTINE_SCHEMA.names}, schema=QUARANTINE_SCHEMA
            )
        )

    def add_rejected(self, table: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.spool, QUARANTINE_SCHEMA)
        self.writer.write_table(table)
        self.per_file.update(table.column("_source_object").to_pylist())
        self.by_reason.update(table.column("_reason").to_pylist())

    def accepted_batches(self) -> Any:
        for batch in self.source:
            rejected = pc.is_valid(batch.column("_rejected"))
            if pc.any(rejected).as_py():
                self._spool(batch.filter(rejected))
                batch = batch.filter(pc.invert(rejected))  # noqa: PLW2901
            self.accepted += batch.num_rows
            columns = {name: batch.column(name) for name in batch.schema.names}
            columns |= self.lineage.columns(batch)
            yield pa.RecordBatch.from_arrays(
                [columns[name] for name in _SALES_COLUMNS], schema=SALES_SCHEMA
            )

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(SALES_SCHEMA, self.accepted_batches())

    def rejected_reader(self) -> pa.RecordBatchReader:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            batches = pq.ParquetFile(self.spool).iter_batches(BATCH_ROWS)
            return pa.RecordBatchReader.from_batches(QUARANTINE_SCHEMA, batches)
        return pa.RecordBatchReader.from_batches(QUARANTINE_SCHEMA, iter(()))


Progress = Callable[[str, int, int], None]


@dataclass
class Work:
    """What a Silver run would take in: read from Bronze's listing and the ledgers."""

    sales: DeltaTable | None
    taken: dict[str, FileEntry]
    pending: list[ObjectInfo]
    """New objects, and event objects a replay has grown since they were taken."""
    repair: list[ObjectInfo]
    """Objects ``sales`` took whose quarantine commit a crash lost."""

    def __bool__(self) -> bool:
        return bool(self.pending or self.repair)


def find_work(settings: Settings) -> Work:
    """The Bronze objects the next Silver run would take in; cheap (listing + logs)."""
    sales = open_table(settings.silver, SALES)
    taken = read_ledger(sales).files
    quarantined = read_ledger(open_table(settings.silver, QUARANTINE)).files
    objects = list(batch_files(settings.bronze))
    objects += [
        info
        for info in settings.bronze.list(f"{EVENTS_DIR}/{settings.topic}")
        if parse_object_key(info.key)
    ]
    pending = [o for o in objects if o.key not in taken or taken[o.key].size not in (0, o.size)]
    repair = [
        o
        for o in objects
        if o.key in taken and taken[o.key].status == "merged" and o.key not in quarantined
    ]
    return Work(sales, taken, pending, repair)


def run_silver(settings: Settings, progress: Progress | None = None) -> SilverResult:
    """Take every new Bronze object (CSV drops and event files) into Silver; a no-op
    when there is none.

    Commit order: ``sales`` first (its ledger marks the objects as taken), then
    ``sales_quarantine``. A crash between the two is repaired by the next run, which
    judges again the objects that ``sales`` holds and quarantine does not.
    """
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    run = _Run(
        settings, SilverResult(f"batch-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"), now, progress
    )
    work = find_work(settings)
    sales, taken, pending, repair = work.sales, work.taken, work.pending, work.repair
    if pending or repair:
        with tempfile.TemporaryDirectory(dir=settings.scratch_dir, prefix="silver-") as tmp:
            con = _connect(settings, Path(tmp))
            try:
                grown = {o.key: taken[o.key].last_position for o in pending if o.key in taken}
                sources = run.read(con, pending + repair, grown, Path(tmp))
                sources.finish()
                run.commit(con, sources, [o.key for o in pending], sales, Path(tmp))
            finally:
                con.close()
    else:
        run.result.version = sales.version() if sales else None
    run.result.seconds = time.perf_counter() - started
    return run.result


@dataclass
class _Run:
    """One Silver run's state, from reading Bronze to the two commits."""

    settings: Settings
    result: SilverResult
    now: datetime
    progress: Progress | None
    entries: dict[str, FileEntry] = field(default_factory=dict)

    def step(self, name: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(name, done, total)

    def read(
        self,
        con: duckdb.DuckDBPyConnection,
        work: list[ObjectInfo],
        grown: dict[str, int | None],
        scratch: Path,
    ) -> _Sources:
        """Register every object; refuse whole CSV files whose header does not qualify.

        ``grown`` maps event objects taken before to the last offset taken then."""
        bronze = self.settings.bronze
        sources = _Sources(con)
        for index, info in enumerate(work):
            self.step("read", index, len(work))
            local = bronze.fetch(info.key, scratch / f"object-{index}")
            if parse_object_key(info.key):
                self.entries[info.key] = sources.add_events(info, local, grown.get(info.key))
                continue
            uri = bronze.uri(info.key)
            try:
                header = _read_header(local, uri)
                positions, extra = column_mapping(header, uri)
            except RejectedFile as exc:
                self.entries[info.key] = FileEntry(info.key, "rejected", error=str(exc))
                continue
            if extra:
                self.result.extra_columns[info.key] = extra
            entry = sources.add(info, local, positions, len(header))
            self.entries[info.key] = replace(entry, size=info.size)
        self.step("read", len(work), len(work))
        return sources

    def commit(
        self,
        con: duckdb.DuckDBPyConnection,
        sources: _Sources,
        pending: list[str],
        sales: DeltaTable | None,
        scratch: Path,
    ) -> None:
        """MERGE the accepted lines into ``sales``, then append the rejects."""
        silver, result = self.settings.silver, self.result
        source = con.execute(_judged_sql(self.settings.line_key)).to_arrow_reader(BATCH_ROWS)
        lineage = _Lineage(
            pa.array(sources.objects, pa.string()),
            pa.array(sources.systems, pa.string()),
            result.batch_id,
            self.now,
        )
        split = _Split(source, scratch / "quarantine.parquet", lineage)
        self.step("merge", 0, 1)
        props = commit_properties(result.batch_id, [self.entries[key] for key in pending])
        if sales is None:
            write_deltalake(
                silver.uri(SALES),
                split.reader(),
                mode="append",
                storage_options=silver.delta_options(),
                commit_properties=props,
            )
            result.inserted = split.accepted
        else:
            metrics = (
                sales.merge(
                    split.reader(),
                    predicate=merge_predicate(self.settings.line_key),
                    source_alias="s",
                    target_alias="t",
                    # A small batch is collected first, so delta-rs can prune the
                    # target files by the batch's key range (a micro-batch of new
                    # lines then touches no old file); a large one is streamed.
                    streamed_exec=sum(e.lines for e in self.entries.values()) > STREAM_ABOVE,
                    commit_properties=props,
                )
                .when_matched_update_all(predicate=NEWER)
                .when_not_matched_insert_all()
                .execute()
            )
            result.inserted = int(metrics["num_target_rows_inserted"])
            result.updated = int(metrics["num_target_rows_updated"])
        result.written = split.accepted
        self.step("merge", 1, 1)
        self.step("quarantine", 0, 1)
        malformed = con.execute(_MALFORMED_SQL, [self.now.replace(tzinfo=None), result.batch_id])
        split.add_rejected(malformed.to_arrow_table().cast(QUARANTINE_SCHEMA))
        judged = [
            replace(e, quarantined=split.per_file[e.key])
            for e in self.entries.values()
            if e.status == "merged"
        ]
        write_deltalake(
            silver.uri(QUARANTINE),
            split.rejected_reader(),
            mode="append",
            storage_options=silver.delta_options(),
            commit_properties=commit_properties(result.batch_id, judged),
        )
        self.step("quarantine", 1, 1)
        result.files = [
            replace(e, quarantined=split.per_file[e.key])
            for e in self.entries.values()
            if e.key in pending
        ]
        result.by_reason = split.by_reason
        result.quarantined = sum(e.quarantined for e in result.files)
        result.accepted = sum(e.lines for e in result.files) - result.quarantined
        table = open_table(silver, SALES)
        result.version = table.version() if table else None
