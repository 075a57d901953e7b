"""Run the Gold dbt project in-process and summarise what it did.

dbt is driven through ``dbtRunner`` rather than a subprocess: no second interpreter
start-up, the results come back as objects (test names and failing-row counts
without log scraping), and the parsed manifest is kept per process so repeated
builds skip parsing entirely (``partial_parse`` covers calls from new processes).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salespipe.settings import Settings

DBT_PROJECT_ENV = "SALESPIPE_DBT_PROJECT_DIR"
GOLD_DIR = "gold"
DUCKDB_STEM = "salespipe"
"""The Gold DuckDB file's name without ``.duckdb``, unless ``gold_database`` says."""
MARTS: tuple[str, ...] = ("fact_sales", "dim_customer", "dim_product", "dim_store", "dim_date")
DIMENSIONS: tuple[str, ...] = MARTS[1:]
FILE_LOG_LEVEL = "info"
"""The level of ``logs/dbt.log``, which salespipe writes (``dbt_log``), unless
``DBT_LOG_LEVEL_FILE`` sets one (``none``: no file): at debug, it holds every statement
of every node, whose SQL is in ``target/`` anyway."""
CODE_CHECKS_PASSED = "code_checks.passed"
"""In the Gold dir: the fingerprint of the code (and vars) the code-only nodes last
passed on."""
CODE_ONLY_TAG = "code_only"
"""Tags a data test whose outcome depends on the SQL alone (a calendar attribute, a
label the model writes as a literal): a logic check, run with the unit tests."""
SKIP_UNIT_TESTS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")
"""``dbt build`` arguments that leave out the unit tests."""
SKIP_CODE_ONLY: tuple[str, ...] = (
    *SKIP_UNIT_TESTS,
    "--exclude",
    "config.materialized:view",
    f"tag:{CODE_ONLY_TAG}",
    # keep the views' own tests: they test Silver's lines through the view, which is data
    "--indirect-selection",
    "empty",
)
"""``dbt build`` arguments that leave out the code-only nodes: unit tests, views (DDL
over Silver, which reads the new lines without being rebuilt) and ``code_only`` tests."""


class GoldError(RuntimeError):
    """dbt could not run at all (bad project, profile or connection), as opposed to
    running and reporting failed models or tests, which ``GoldResult`` carries."""


@dataclass(frozen=True)
class NodeOutcome:
    """One model, test, unit test or seed that did not pass."""

    name: str
    resource_type: str
    status: str
    failing_rows: int | None
    """Rows the test returned (tests only): the size of the problem."""
    message: str


@dataclass(frozen=True)
class GoldResult:
    """What one ``dbt build`` of Gold did."""

    success: bool
    models_passed: int
    models_failed: int
    tests_passed: int
    tests_failed: int
    skipped: int
    elapsed_s: float
    duckdb_path: str
    failures: tuple[NodeOutcome, ...] = field(default_factory=tuple)
    left_out: tuple[str, ...] = ()
    """Kinds of code-only node (unit tests, views, ``code_only`` tests) that already
    passed on exactly this code and vars, so the build left them out."""

    def summary(self) -> str:
        """One line for humans, then one line per failure naming test and rows."""
        head = (
            f"gold: models {self.models_passed} ok / {self.models_failed} failed, "
            f"tests {self.tests_passed} ok / {self.tests_failed} failed, "
            f"{self.skipped} skipped in {self.elapsed_s:.1f}s"
            + (f" ({', '.join(self.left_out)}: current for this code)" if self.left_out else "")
        )
        lines = [head]
        for f in self.failures:
            rows = f" ({f.failing_rows} failing rows)" if f.failing_rows is not None else ""
            lines.append(f"  {f.status.upper()} {f.resource_type} {f.name}{rows}: {f.message}")
        return "\n".join(lines)


def project_dir() -> Path:
    """The dbt project: ``$SALESPIPE_DBT_PROJECT_DIR``, else ``dbt/`` of the checkout
    this package runs from (the package is installed editable in the images)."""
    configured = os.environ.get(DBT_PROJECT_ENV)
    if configured:
        return Path(configured).resolve()
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "dbt" / "dbt_project.yml"
        if candidate.is_file():
            return candidate.parent
    raise GoldError(f"no dbt project found; set {DBT_PROJECT_ENV} to the dbt/ directory")


def gold_dir(settings: Settings) -> Path:
    """Local directory of the Gold DuckDB file, dbt's target/ and logs/.

    DuckDB needs a local file; with an ``s3://`` data dir it lives in the scratch dir.
    """
    if settings.root.is_s3:
        base = Path(settings.scratch_dir or ".salespipe")
        return (base / GOLD_DIR).resolve()
    return Path(settings.root.uri(GOLD_DIR))


def duckdb_path(settings: Settings) -> Path:
    return gold_dir(settings) / f"{settings.gold_database or DUCKDB_STEM}.duckdb"


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """Run settings as dbt vars (the profile reads them): paths, never secrets."""
    gold = gold_dir(settings)
    return {
        "silver_root": settings.silver.uri(),
        "gold_duckdb_path": str(duckdb_path(settings)),
        "gold_schema": settings.gold_schema,
        "gold_extension_dir": str(gold / "extensions"),
        "gold_threads": settings.threads,
        "gold_memory_limit": settings.memory_limit,
        "gold_temp_dir": str(gold / "tmp"),
    } | ({"gold_database": settings.gold_database} if settings.gold_database else {})


_manifests: dict[str, Any] = {}
_lock = threading.RLock()
"""Parsed manifests by (project, vars, target): dbtRunner is not re-entrant, so one
build at a time per process."""


def _args(command: str, settings: Settings, target: str | None, extra: Sequence[str]) -> list[str]:
    project = project_dir()
    gold = gold_dir(settings)
    return [
        command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target",
        target or settings.gold_target,
        "--target-path",
        str(gold / "target"),
        "--log-path",
        str(log_dir(settings)),
        "--vars",
        json.dumps(dbt_vars(settings), sort_keys=True),
        *extra,
    ]


def log_dir(settings: Settings) -> Path:
    """Where ``dbt.log`` is written (and dbt's ``--log-path``)."""
    return gold_dir(settings) / "logs"


def _invoke(args: list[str], settings: Settings, manifest: Any = None, quiet: bool = True) -> Any:
    """One dbtRunner invocation, its events logged to ``logs/dbt.log`` by ``EventLog``
    (and, when ``quiet``, its errors alone to stdout, as dbt's ``--quiet`` console)."""
    from dbt.cli.main import dbtRunner

    from salespipe.gold.dbt_log import EventLog

    level = os.environ.get("DBT_LOG_LEVEL_FILE", FILE_LOG_LEVEL)
    # dbt's own loggers off: its file logger always, its console when quiet
    loggers_off = ["--log-level-file", "none", *(["--log-level", "none"] if quiet else [])]
    with EventLog(log_dir(settings), level, echo_errors=quiet) as log:
        return dbtRunner(manifest=manifest, callbacks=[log]).invoke([*args, *loggers_off])


def parsed_manifest(settings: Settings, target: str | None = None) -> Any:
    """The parsed project for (project, target, vars), parsed once per process.

    The first call in a process parses (partially: dbt reuses ``partial_parse.msgpack``
    in the target dir as long as project files, vars and profile are unchanged; the
    vars are paths, equal between calls on one data dir). It writes no manifest.json:
    the build that follows writes the artifacts once.
    """
    target = target or settings.gold_target
    key = json.dumps([str(project_dir()), target, dbt_vars(settings)], sort_keys=True)
    with _lock:
        manifest = _manifests.get(key)
        if manifest is None:
            parsed = _invoke(_args("parse", settings, target, ["--no-write-json"]), settings)
            if not parsed.success:
                raise GoldError(f"dbt parse failed: {parsed.exception}")
            manifest = _manifests[key] = parsed.result
            # The manifest lives as long as the process: frozen, its objects are left
            # out of every later full garbage collection, which otherwise walked all
            # of them several times per build (a twentieth of an incremental one).
            gc.freeze()
    return manifest


def run_dbt(
    command: str,
    settings: Settings,
    *,
    target: str | None = None,
    extra: Sequence[str] = (),
    quiet: bool = True,
    reuse_manifest: bool = True,
) -> Any:
    """Invoke one dbt command in-process and return dbt's result object.

    Raises ``GoldError`` when dbt itself failed (not when models or tests failed).
    """
    gold = gold_dir(settings)
    (gold / "tmp").mkdir(parents=True, exist_ok=True)
    args = _args(command, settings, target, extra)
    manifest = None
    if reuse_manifest and command in ("build", "run", "test"):
        manifest = parsed_manifest(settings, target)
    with _lock:
        try:
            result = _invoke(args, settings, manifest, quiet)
        finally:
            _release_duckdb()
    if result.exception is not None:
        raise GoldError(f"dbt {command} failed to run: {result.exception}")
    return result


def code_fingerprint(manifest: Any, context: str = "") -> str:
    """A hash of everything the code-only nodes depend on: each node's file checksum
    and config, each unit test, every macro (dbt's own included), the versions of
    dbt-core, dbt-duckdb and DuckDB, and ``context`` (the target and vars, which views
    embed: the Silver paths)."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{context}\n".encode())
    for uid, node in sorted(manifest.nodes.items()):
        config = json.dumps(node.config.to_dict(), sort_keys=True, default=str)
        digest.update(f"{uid}\0{node.checksum.checksum}\0{config}\n".encode())
    for uid, unit in sorted(manifest.unit_tests.items()):
        digest.update(f"{uid}\0{unit.checksum}\n".encode())
    for uid, macro in sorted(manifest.macros.items()):
        digest.update(f"{uid}\0{macro.macro_sql}\n".encode())
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        digest.update(f"{package}=={version(package)}\n".encode())
    return digest.hexdigest()


def _is_view(node: Any) -> bool:
    return _name(node.resource_type) == "model" and node.config.materialized == "view"


def _is_code_only(node: Any) -> bool:
    """Views and ``code_only`` data tests (unit tests are their own resource type)."""
    return _is_view(node) or (_name(node.resource_type) == "test" and CODE_ONLY_TAG in node.tags)


def _views_exist(settings: Settings, manifest: Any) -> bool:
    """Whether the Gold DuckDB file holds every view model: views left out of a build
    must be there (a deleted or replaced file has none)."""
    import duckdb

    views = {(node.schema, node.alias) for node in manifest.nodes.values() if _is_view(node)}
    path = duckdb_path(settings)
    if not path.exists():
        return False
    con = duckdb.connect(str(path), read_only=True)
    try:
        present = set(
            con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_type = 'VIEW'"
            ).fetchall()
        )
    finally:
        con.close()
    return views <= present


def _release_duckdb() -> None:
    """Release the Gold file after each command.

    DuckDB refuses other connections to a file one process holds open (``gold_status``,
    analysts, the next process), so the file is detached once dbt is done; the
    in-memory instance it was attached to stays for the next build
    (``duckdb_plugin``).
    """
    from salespipe.gold.duckdb_plugin import detach_gold

    detach_gold()


def _outcomes(run_result: Any) -> GoldResult:
    passed = {"success", "pass"}
    counts = dict.fromkeys(("mp", "mf", "tp", "tf", "sk"), 0)
    failures: list[NodeOutcome] = []
    for r in run_result.results:
        status, kind = _name(r.status), _name(r.node.resource_type)
        is_test = kind in ("test", "unit_test")
        if status == "skipped":
            counts["sk"] += 1
            continue
        ok = status in passed
        if kind == "operation" and ok:
            continue  # a hook (the build ledger), not a model
        counts[("t" if is_test else "m") + ("p" if ok else "f")] += 1
        if not ok:
            failures.append(
                NodeOutcome(
                    name=r.node.name,
                    resource_type=kind,
                    status=status,
                    failing_rows=r.failures if is_test else None,
                    message=(r.message or "").strip().splitlines()[0] if r.message else "",
                )
            )
    return GoldResult(
        success=not failures and counts["sk"] == 0,
        models_passed=counts["mp"],
        models_failed=counts["mf"],
        tests_passed=counts["tp"],
        tests_failed=counts["tf"],
        skipped=counts["sk"],
        elapsed_s=0.0,
        duckdb_path="",
        failures=tuple(failures),
    )


def build_gold(
    settings: Settings,
    *,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    quiet: bool = True,
) -> GoldResult:
    """``dbt build`` of Gold on ``settings.gold_target``: models, then their tests.

    Warnings pass; a failing test or model makes ``success`` false and is listed with
    its name and failing-row count. Skipped nodes (downstream of a failure) also count
    as not successful.
    """
    started = time.perf_counter()
    extra: list[str] = ["--full-refresh"] if full_refresh else []
    if select:
        extra += ["--select", *select]
    # Unit tests check the SQL's logic on fixed rows, views are DDL over Silver, and
    # code_only tests check what the SQL alone decides: none can change with the data,
    # so rerunning them on unchanged code proves nothing new (and costs a unit test
    # about a second, any node some 50 ms of dbt's time). They run on a full refresh
    # and whenever the code or vars differ from those they last passed on. On
    # Snowflake, whose views cannot be checked without a connection, only the unit
    # tests are left out.
    manifest = parsed_manifest(settings)
    fingerprint = code_fingerprint(
        manifest, json.dumps([settings.gold_target, dbt_vars(settings)], sort_keys=True)
    )
    marker = gold_dir(settings) / CODE_CHECKS_PASSED
    code_current = not full_refresh and marker.is_file() and marker.read_text() == fingerprint
    left_out: tuple[str, ...] = ()
    if code_current and settings.gold_target == "duckdb" and _views_exist(settings, manifest):
        extra += SKIP_CODE_ONLY
        left_out = ("unit tests", "views", f"{CODE_ONLY_TAG} tests")
    elif code_current:
        extra += SKIP_UNIT_TESTS
        left_out = ("unit tests",)
    result = run_dbt("build", settings, extra=extra, quiet=quiet)
    outcome = _outcomes(result.result)
    if not (code_current or select) and _code_only_passed(result.result, manifest):
        marker.write_text(fingerprint)
    return GoldResult(
        success=outcome.success and bool(result.success),
        models_passed=outcome.models_passed,
        models_failed=outcome.models_failed,
        tests_passed=outcome.tests_passed,
        tests_failed=outcome.tests_failed,
        skipped=outcome.skipped,
        elapsed_s=time.perf_counter() - started,
        duckdb_path=str(duckdb_path(settings)) if settings.gold_target == "duckdb" else "",
        failures=outcome.failures,
        left_out=left_out,
    )


def _name(value: Any) -> str:
    """A dbt enum member (status, resource type) as its lower-case name."""
    return str(getattr(value, "value", value)).lower()


def _code_only_passed(run_result: Any, manifest: Any) -> bool:
    """Whether the build ran every code-only node and unit test, and each passed."""
    expected = {uid for uid, node in manifest.nodes.items() if _is_code_only(node)}
    expected |= set(manifest.unit_tests)
    passed = {
        r.node.unique_id for r in run_result.results if _name(r.status) in ("success", "pass")
    }
    return bool(expected) and expected <= passed


def gold_status(settings: Settings) -> dict[str, object]:
    """Gold figures for ``salespipe status --json``: fact rows, the exact sales total
    as a decimal string, and the row count of each dimension. Zeros before a build."""
    import duckdb

    path, schema = duckdb_path(settings), settings.gold_schema
    empty: dict[str, object] = {"fact_rows": 0, "sales_total": "0", "dims": {}}
    if settings.gold_target != "duckdb" or not path.exists():
        return empty
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [schema],
            ).fetchall()
        }
        if "fact_sales" not in tables:
            return empty
        row = con.execute(
            f'SELECT count(*), coalesce(sum(sales), 0) FROM "{schema}".fact_sales'
        ).fetchone()
        assert row is not None
        dims: dict[str, int] = {}
        for name in DIMENSIONS:
            if name in tables:
                count = con.execute(f'SELECT count(*) FROM "{schema}".{name}').fetchone()
                dims[name] = int(count[0]) if count else 0
        return {"fact_rows": int(row[0]), "sales_total": str(row[1]), "dims": dims}
    finally:
        con.close()
