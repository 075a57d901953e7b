"""The Silver batch step on the embedded engine: DuckDB judges, delta-rs commits.

One run takes every Bronze CSV object that the ``sales`` table's ledger does not
hold yet: judges them once in DuckDB with the shared plan (spilling to disk past the
memory limit), writes the latest version of each new line key as Parquet files that
one Delta commit adds, MERGEs the lines whose key ``sales`` holds already, and appends
the rejects to ``sales_quarantine``. The last commit to each table carries the ledger,
so a crash at any point leaves the last committed versions readable and the next run
converges.
"""

from __future__ import annotations

import csv
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from salespipe.bronze.events import EVENTS_DIR, event_rows_sql, parse_object_key
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
from salespipe.silver.delta_files import add_action
from salespipe.silver.dialect import DUCKDB, quote_literal
from salespipe.silver.ledger import (
    TABLE_PROPERTIES,
    FileEntry,
    commit_properties,
    keep_history,
    read_ledger,
)
from salespipe.silver.plan import convention_sql, dedupe_order, raw, validated_sql
from salespipe.silver.tables import QUARANTINE, QUARANTINE_SCHEMA, SALES, SALES_SCHEMA
from salespipe.storage import ObjectInfo, ObjectStore

STREAM_ABOVE = 250_000
"""Known lines per run above which the MERGE streams its source instead of collecting it:
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
        con.execute(
            "CREATE TABLE malformed (_file INTEGER, _source_object VARCHAR, _event_time TIMESTAMP,"
            " line BIGINT, csv_line VARCHAR, detail VARCHAR)"
        )

    def add(self, info: ObjectInfo, path: Path, positions: dict[str, int], width: int) -> FileEntry:
        """Register one CSV file; returns its ledger entry: lines held (records and
        malformed lines) and the total of its sales values that read as numbers."""
        file = len(self.objects)
        self.objects.append(info.key)
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
            f" 'batch' AS _source_system, {quote_literal(info.key)} AS _source_object,"
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
        rows = f"({event_rows_sql(str(path), info.key, info.mtime)})"
        if after is not None:
            rows = f"(SELECT * FROM {rows} WHERE _source_position > {int(after)})"
        select = ", ".join(f"{f.name} AS {raw(f.name)}" for f in FIELDS)
        self.reads.append(
            f"SELECT {select}, {file} AS _file, '{ISO_DATE.name}' AS _date_convention,"
            f" _source_system, _source_object, _source_position, _event_time FROM {rows}"
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
                    "NULL::VARCHAR AS _source_system",
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


_SOURCE_LINEAGE = ("_file", "_source_system", "_source_object", "_source_position", "_event_time")
"""Lineage that varies per row or file, carried through the plan; the run's batch id and
time are literals added where rows leave DuckDB."""

FILE_BYTES = 128 * 1024 * 1024
"""Target size of one Silver data file (a MERGE rewrites whole files that hold a match)."""


def _judged_sql(relation: str) -> str:
    """The verdict on every line of ``relation``: the typed columns, lineage and verdict,
    and a rejected line's raw text as one list (NULL for the accepted lines)."""
    typed = ", ".join(f.name for f in FIELDS)
    raws = "[" + ", ".join(raw(f.name) for f in FIELDS) + "]"
    return (
        f"SELECT {typed}, {', '.join(_SOURCE_LINEAGE)}, _reason, _reasons, _field, _value,"
        f" CASE WHEN _reason IS NOT NULL THEN {raws} END AS _raw"
        f" FROM ({validated_sql(DUCKDB, relation, _SOURCE_LINEAGE)})"
    )


def _stage(con: duckdb.DuckDBPyConnection, reads: list[str], threads: int) -> None:
    """Judge every line once into the table ``judged``: judging is the costly part, and
    both the ``sales`` files and the quarantine read its result.

    A file's records are numbered by a streaming window, which keeps a query on one
    thread, and DuckDB runs a union of such reads one after another: so the files are
    judged by concurrent single-threaded queries, ``threads`` at a time, each on its
    own cursor (DuckDB releases the GIL while it works).
    """
    con.execute(f"CREATE TABLE judged AS {_judged_sql('source')} LIMIT 0")
    con.execute("SET threads = 1")

    def judge(read: str) -> None:
        with con.cursor() as cursor:
            cursor.execute(f"INSERT INTO judged {_judged_sql(f'({read})')}")

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(judge, reads))
    finally:
        con.execute(f"SET threads = {threads}")


def _dedupe_sql(key: tuple[str, ...]) -> list[str]:
    """The view ``winners``: the latest accepted version of each line key.

    Few keys repeat within a run, so only their lines go through the window that picks
    the latest; every other line passes an anti-join, and nothing sorts the whole run.
    """
    keys = ", ".join(key)
    accepted = "(SELECT * FROM judged WHERE _reason IS NULL)"
    return [
        f"CREATE TEMP TABLE repeated AS SELECT {keys} FROM {accepted}"
        f" GROUP BY {keys} HAVING count(*) > 1",
        f"CREATE TEMP VIEW winners AS SELECT * FROM {accepted} ANTI JOIN repeated USING ({keys})"
        f" UNION ALL (SELECT * FROM {accepted} SEMI JOIN repeated USING ({keys})"
        f" QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {dedupe_order()}) = 1)",
    ]


_REJECTED_SQL = f"""
CREATE TEMP VIEW rejected AS
SELECT {", ".join(f"_raw[{i}] AS {f.name}" for i, f in enumerate(FIELDS, start=1))},
  _reason, _reasons, _field, _value, NULL AS _raw_line, NULL AS _detail,
  _file, _source_system, _source_object, _source_position, _event_time
FROM judged WHERE _reason IS NOT NULL
UNION ALL
SELECT {", ".join(f"NULL AS {f.name}" for f in FIELDS)},
  '{Reason.MALFORMED_LINE.value}', ['{Reason.MALFORMED_LINE.value}'], NULL, NULL, csv_line,
  detail, _file, 'batch', _source_object, line, _event_time
FROM malformed"""
"""Every line for quarantine: the judged rejects and the lines too malformed to judge."""


def _with_lineage(schema: pa.Schema, batch_id: str, now: datetime) -> str:
    """The select list of ``schema``'s columns, the run's lineage added as literals.

    Event times are UTC; as TIMESTAMPTZ, DuckDB writes them as UTC-adjusted Parquet
    timestamps, the type of Delta's ``timestamp``."""
    lineage = {
        "_ingested_at": f"TIMESTAMPTZ '{now:%Y-%m-%d %H:%M:%S}+00'",
        "_batch_id": quote_literal(batch_id),
        "_event_time": "CAST(_event_time AS TIMESTAMPTZ)",
    }
    return ", ".join(f"{lineage[n]} AS {n}" if n in lineage else n for n in schema.names)


def merge_predicate(key: tuple[str, ...]) -> str:
    return " AND ".join(f"t.{k} = s.{k}" for k in key)


NEWER = (
    "s._event_time > t._event_time OR (s._event_time = t._event_time AND"
    " (s._source_object > t._source_object OR (s._source_object = t._source_object"
    " AND s._source_position > t._source_position)))"
)
"""When a MERGE replaces a Silver line: only by a strictly later version (see plan), so
taking the same input twice changes nothing."""


Progress = Callable[[str, int, int], None]


@dataclass
class Work:
    """What a Silver run would take in: read from Bronze's listing and the ledgers."""

    sales: DeltaTable | None
    quarantine: DeltaTable | None
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
    quarantine = open_table(settings.silver, QUARANTINE)
    taken = read_ledger(sales).files
    quarantined = read_ledger(quarantine).files
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
    return Work(sales, quarantine, taken, pending, repair)


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
        for table in (sales, work.quarantine):
            if table is not None:
                keep_history(table)
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
        """Write the latest version of each line into ``sales``, then append the rejects.

        Lines whose key ``sales`` does not hold yet (all of a first load, nearly all of
        an increment) go to Parquet files that DuckDB writes in parallel and one commit
        adds. Lines whose key it holds go through a MERGE first, committed without the
        ledger: after a crash between the two commits, the next run takes the objects
        again and the MERGE finds nothing newer to change.
        """
        silver, result, key = self.settings.silver, self.result, self.settings.line_key
        # Each file's records are numbered by a streaming window, which runs on one
        # thread in file order whatever this says; the rest needs no order.
        con.execute("SET preserve_insertion_order = false")
        _stage(con, sources.reads, self.settings.threads)
        for statement in _dedupe_sql(key):
            con.execute(statement)
        self.step("merge", 0, 1)
        keys = ", ".join(key)
        known = self._known(con, sales, keys)
        lineage = _with_lineage(SALES_SCHEMA, result.batch_id, self.now)
        if known:
            assert sales is not None
            source = con.execute(
                f"SELECT {lineage} FROM winners SEMI JOIN known USING ({keys})"
            ).to_arrow_reader(BATCH_ROWS)
            metrics = (
                sales.merge(
                    source.cast(SALES_SCHEMA),
                    predicate=merge_predicate(key),
                    source_alias="s",
                    target_alias="t",
                    # A small source is collected first, so delta-rs can prune the
                    # target files by its key range; a large one is streamed.
                    streamed_exec=known > STREAM_ABOVE,
                )
                .when_matched_update_all(predicate=NEWER)
                .when_not_matched_insert_all()
                .execute()
            )
            result.inserted = int(metrics["num_target_rows_inserted"])
            result.updated = int(metrics["num_target_rows_updated"])
            result.written = int(metrics["num_source_rows"])
        folder = scratch / "sales-files"
        (appended,) = con.execute(
            f"COPY (SELECT {lineage} FROM winners ANTI JOIN known USING ({keys}))"
            f" TO {quote_literal(str(folder))} (FORMAT parquet, FILE_SIZE_BYTES {FILE_BYTES},"
            " FILENAME_PATTERN 'part-{uuid}')"
        ).fetchall()[0]
        actions: list[AddAction] = []
        for local in sorted(folder.glob("*.parquet")) if appended else []:
            actions.append(add_action(local, local.name))
            silver.move_file(local, f"{SALES}/{local.name}")
        props = commit_properties(result.batch_id, [self.entries[k] for k in pending])
        if sales is None:
            create_table_with_add_actions(
                silver.uri(SALES),
                DeltaSchema.from_arrow(SALES_SCHEMA),
                actions,
                configuration=TABLE_PROPERTIES,
                storage_options=silver.delta_options(),
                commit_properties=props,
            )
        else:
            appends: list[AddAction | RemoveAction] = [*actions]
            sales.create_write_transaction(
                appends, mode="append", schema=SALES_SCHEMA, commit_properties=props
            )
        result.inserted += int(appended)
        result.written += int(appended)
        self.step("merge", 1, 1)
        self._quarantine(con, pending)
        table = open_table(silver, SALES)
        result.version = table.version() if table else None

    def _known(self, con: duckdb.DuckDBPyConnection, sales: DeltaTable | None, keys: str) -> int:
        """Fill the temp table ``known`` with the run's line keys that ``sales`` holds;
        returns how many.

        Only the table's key columns are read, and only the row groups whose range of
        the first key column meets the run's (Parquet statistics): new orders with
        rising ids touch no old file. The table's keys stream past a hash of the run's.
        """
        accepted = f"(SELECT {keys} FROM judged WHERE _reason IS NULL)"
        first = self.settings.line_key[0]
        low, high = con.execute(f"SELECT min({first}), max({first}) FROM {accepted}").fetchall()[0]
        if sales is None or low is None or not (files := sales.file_uris()):
            con.execute(f"CREATE TEMP TABLE known AS SELECT * FROM {accepted} WHERE false")
            return 0
        if self.settings.silver.is_s3:
            con.register("target", sales.to_pyarrow_dataset())
            target = "target"
        else:  # DuckDB reads local Parquet twice as fast as through Arrow
            target = "read_parquet([" + ", ".join(quote_literal(uri) for uri in files) + "])"
        con.execute(
            f"CREATE TEMP TABLE known AS SELECT DISTINCT {keys} FROM (SELECT {keys} FROM {target}"
            f" WHERE {first} BETWEEN ? AND ?) SEMI JOIN {accepted} USING ({keys})",
            [low, high],
        )
        if target == "target":
            con.unregister("target")
        return int(con.execute("SELECT count(*) FROM known").fetchall()[0][0])

    def _quarantine(self, con: duckdb.DuckDBPyConnection, pending: list[str]) -> None:
        """Append every rejected line to ``sales_quarantine`` with the ledger of the
        objects judged, and count the rejects per object and reason."""
        silver, result = self.settings.silver, self.result
        self.step("quarantine", 0, 1)
        con.execute(_REJECTED_SQL)
        per_file: Counter[str] = Counter()
        for source_object, reason, count in con.execute(
            "SELECT _source_object, _reason, count(*) FROM rejected GROUP BY ALL"
        ).fetchall():
            per_file[source_object] += count
            result.by_reason[reason] += count
        rows = con.execute(
            f"SELECT {_with_lineage(QUARANTINE_SCHEMA, result.batch_id, self.now)}"
            " FROM rejected ORDER BY _file, _source_position"
        ).to_arrow_reader(BATCH_ROWS)
        judged = [
            replace(e, quarantined=per_file[e.key])
            for e in self.entries.values()
            if e.status == "merged"
        ]
        write_deltalake(
            silver.uri(QUARANTINE),
            rows.cast(QUARANTINE_SCHEMA),
            mode="append",
            configuration=TABLE_PROPERTIES,
            storage_options=silver.delta_options(),
            commit_properties=commit_properties(result.batch_id, judged),
        )
        self.step("quarantine", 1, 1)
        result.files = [
            replace(e, quarantined=per_file[e.key])
            for e in self.entries.values()
            if e.key in pending
        ]
        result.quarantined = sum(e.quarantined for e in result.files)
        result.accepted = sum(e.lines for e in result.files) - result.quarantined
