"""The ``salespipe`` command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from salespipe.cli.render import (
    console,
    errors,
    gold_summary,
    print_json,
    silver_summary,
    status_tables,
    vacuum_table,
)
from salespipe.generate import generate as generate_data
from salespipe.gold.runner import GoldError, build_gold
from salespipe.pipeline.run import ingest as ingest_files
from salespipe.pipeline.run import run_all
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from salespipe.silver.maintenance import DEFAULT_RETENTION_DAYS, vacuum_silver

app = typer.Typer(
    help="salespipe: sales data from CSV drops and Kafka events to a star schema.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    str | None,
    typer.Option(
        "--data-dir",
        help="Root of all layers: a directory or s3://bucket/prefix."
        " Default: $SALESPIPE_DATA_DIR or .salespipe",
    ),
]


class GoldTarget(StrEnum):
    """The dbt targets ``salespipe gold`` builds."""

    duckdb = "duckdb"
    snowflake = "snowflake"


EXIT_REJECTED = 3
"""Silver finished, but refused at least one whole file (see the error lines)."""


@contextmanager
def progress_bars() -> Iterator[Progress]:
    """Rich progress bars on stderr, one task per step name."""
    with Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
    ) as bars:
        yield bars


def reporter(bars: Progress):  # type: ignore[no-untyped-def]
    """A ``(step, done, total)`` callback that drives one bar per step."""
    tasks: dict[str, object] = {}

    def report(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total)
        bars.update(tasks[step], completed=done, total=total)  # type: ignore[arg-type]

    return report


def fail(message: str, code: int = 1) -> None:
    errors.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder for the CSV drops (and events/).")],
    rows: Annotated[int, typer.Option(min=1, help="Lines to write.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 42,
    defect_rate: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    files: Annotated[int | None, typer.Option(min=1, help="Drops to split into.")] = None,
    events: Annotated[int, typer.Option(min=0, help="JSON events to write too.")] = 0,
) -> None:
    """Write realistic sample CSV drops with injected defects."""
    with progress_bars() as bars:
        task = bars.add_task("generate", total=rows)
        report = generate_data(
            rows,
            seed,
            out,
            defect_rate,
            files=files,
            events=events,
            progress=lambda n: bars.advance(task, n),
        )
    console.print(f"wrote {report.lines:,} lines in {len(report.files)} files to {out}")
    for kind, count in sorted(report.defects.items()):
        console.print(f"  {kind}: {count:,}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV files or folders of them.")],
    data_dir: DataDir = None,
) -> None:
    """Land CSV drops in Bronze (a repeat of the same content is a no-op)."""
    settings = Settings.from_env(data_dir)
    try:
        with progress_bars() as bars:
            landings = ingest_files(settings, paths, reporter(bars))
    except FileNotFoundError as exc:
        fail(str(exc))
    for landing in landings:
        state = "landed" if landing.landed else "already landed"
        console.print(f"{state}: {landing.source} -> {landing.key}", highlight=False)


@app.command()
def silver(data_dir: DataDir = None) -> None:
    """Refine every new Bronze file into the Silver Delta tables."""
    settings = Settings.from_env(data_dir)
    with progress_bars() as bars:
        result = run_silver(settings, reporter(bars))
    silver_summary(result)
    if any(entry.error for entry in result.files):
        raise typer.Exit(EXIT_REJECTED)


@app.command()
def gold(
    data_dir: DataDir = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild every model from Silver.")] = False,
    target: Annotated[
        GoldTarget,
        typer.Option(help="dbt target; snowflake takes its account and key from SNOWFLAKE_*."),
    ] = GoldTarget.duckdb,
    database: Annotated[
        str | None,
        typer.Option(help="DuckDB file stem (salespipe) or Snowflake database."),
    ] = None,
    schema: Annotated[str, typer.Option(help="Schema of the facts and dimensions.")] = "gold",
    silver_uri: Annotated[
        str | None, typer.Option(help="Silver root, when not <data-dir>/silver.")
    ] = None,
) -> None:
    """Build the Gold star schema (dbt, in-process) and run its tests."""
    settings = Settings.from_env(
        data_dir,
        silver_uri=silver_uri,
        gold_target=target.value,
        gold_database=database,
        gold_schema=schema,
    )
    try:
        result = build_gold(settings, full_refresh=full_refresh)
    except GoldError as exc:
        fail(str(exc), 2)
    gold_summary(result)
    if not result.success:
        raise typer.Exit(1)


@app.command()
def status(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Counts and money totals per layer, and quarantine by reason."""
    figures = layer_status(Settings.from_env(data_dir))
    if as_json:
        print_json(figures)
    else:
        status_tables(figures)


@app.command()
def vacuum(
    data_dir: DataDir = None,
    retention_days: Annotated[
        int, typer.Option(min=1, help="Days of history kept; older unreferenced files go.")
    ] = DEFAULT_RETENTION_DAYS,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the files it would remove; remove none.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Delete Silver files neither the current version nor the last N days of history
    read (Delta VACUUM)."""
    report = vacuum_silver(Settings.from_env(data_dir), retention_days, dry_run=dry_run)
    if as_json:
        print_json(report.to_dict())
    else:
        vacuum_table(report)


@app.command()
def run(
    rows: Annotated[int, typer.Option(min=1, help="Sample lines to generate.")] = 200_000,
    seed: Annotated[int, typer.Option()] = 42,
    defect_rate: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The main job: generate sample data, land it, refine it, model Gold, print every
    layer."""
    settings = Settings.from_env(data_dir)
    with progress_bars() as bars:
        report = run_all(settings, rows, seed, defect_rate, reporter(bars))
    if as_json:
        print_json(report.status)
    else:
        if report.silver:
            silver_summary(report.silver)
        if report.gold:
            gold_summary(report.gold)
        status_tables(report.status)
    if report.gold and not report.gold.success:
        raise typer.Exit(1)


# --- streaming -------------------------------------------------------------------
Bootstrap = Annotated[str, typer.Option("--bootstrap", help="Kafka bootstrap HOST:PORT.")]
Topic = Annotated[str, typer.Option(help="Kafka topic of the sales events.")]
Overrides = Annotated[
    list[str] | None, typer.Option(help="librdkafka key=value override (repeatable).")
]
FlushSize = Annotated[int, typer.Option(min=1, help="Events per Bronze object at most.")]
RotateIntervalMs = Annotated[
    int, typer.Option(min=1, help="Close an object this much newer, by event time.")
]


@app.command()
def produce(
    bootstrap: Bootstrap,
    topic: Topic = "sales_events",
    count: Annotated[int | None, typer.Option(min=1, help="Events to send.")] = None,
    rate: Annotated[float | None, typer.Option(min=1, help="Events per second.")] = None,
    duration: Annotated[float | None, typer.Option(min=0.1, help="Seconds at --rate.")] = None,
    seed: int = 42,
    defect_rate: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    inject_malformed: Annotated[bool, typer.Option(help="Send malformed messages too.")] = False,
    input_file: Annotated[Path | None, typer.Option("--input", help="JSON lines to send.")] = None,
    producer_config: Overrides = None,
) -> None:
    """Send sales events (validated against the event schema) to Kafka."""
    # Imported here: the Kafka client is the `streaming` extra, not needed by `run`.
    from salespipe.streaming import commands

    raise typer.Exit(
        commands.produce(
            bootstrap,
            topic=topic,
            count=count,
            rate=rate,
            duration=duration,
            seed=seed,
            defect_rate=defect_rate,
            inject_malformed=inject_malformed,
            input_file=input_file,
            producer_config=producer_config or [],
        )
    )


@app.command()
def sink(
    bootstrap: Bootstrap,
    topic: Topic = "sales_events",
    data_dir: DataDir = None,
    flush_size: FlushSize = 1000,
    rotate_interval_ms: RotateIntervalMs = 60_000,
    flush_interval_ms: Annotated[
        int | None, typer.Option(min=10, help="Land a batch at least this often.")
    ] = None,
    once: Annotated[bool, typer.Option(help="Drain what is there, then exit.")] = False,
    consumer_config: Overrides = None,
) -> None:
    """Land Kafka events in Bronze in Kafka Connect's S3 sink layout."""
    from salespipe.streaming import commands

    raise typer.Exit(
        commands.sink(
            bootstrap,
            topic=topic,
            data_dir=data_dir,
            flush_size=flush_size,
            rotate_interval_ms=rotate_interval_ms,
            flush_interval_ms=flush_interval_ms,
            once=once,
            consumer_config=consumer_config or [],
        )
    )


@app.command()
def stream(
    bootstrap: Bootstrap,
    topic: Topic = "sales_events",
    data_dir: DataDir = None,
    flush_size: FlushSize = 1000,
    rotate_interval_ms: RotateIntervalMs = 60_000,
    flush_interval_ms: Annotated[int, typer.Option(min=10)] = 500,
    silver_interval_ms: Annotated[int, typer.Option(min=10)] = 1000,
    consumer_config: Overrides = None,
) -> None:
    """Sink and Silver in a loop of micro-batches, until SIGTERM/SIGINT."""
    from salespipe.streaming import commands

    raise typer.Exit(
        commands.stream(
            bootstrap,
            topic=topic,
            data_dir=data_dir,
            flush_size=flush_size,
            rotate_interval_ms=rotate_interval_ms,
            flush_interval_ms=flush_interval_ms,
            silver_interval_ms=silver_interval_ms,
            silver=run_silver,
            consumer_config=consumer_config or [],
        )
    )


dev = typer.Typer(help="Local stand-ins for cluster services, bound to 127.0.0.1.")
app.add_typer(dev, name="dev")


@dev.command("kafka")
def dev_kafka(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 9092,
    storage: Annotated[str, typer.Option(help="memory://tansu/ or s3://bucket/")] = (
        "memory://tansu/"
    ),
) -> None:
    """Run a Kafka-compatible broker (Tansu) with sales_events (3 partitions)."""
    from salespipe.streaming import commands

    raise typer.Exit(commands.dev_kafka(port=port, storage=storage))


@dev.command("airflow")
def dev_airflow(
    home: Annotated[Path, typer.Option(help="AIRFLOW_HOME (database, logs, password).")] = Path(
        ".salespipe/dev/airflow"
    ),
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="API server port on 127.0.0.1 (0: free).")] = 8080,
) -> None:
    """Run Airflow 3 (api-server, scheduler, dag-processor) with salespipe's DAGs."""
    from salespipe.dev.airflow import LocalAirflow, run_local_airflow

    def ready(airflow: LocalAirflow) -> None:
        console.print(f"Airflow is up at [bold]{airflow.url}[/] (user admin)")
        console.print(f"password in {airflow.passwords_file}; Ctrl-C stops it")

    root = Path(Settings.from_env(data_dir).data_dir).resolve()
    airflow = LocalAirflow(home.resolve(), data_dir=root, port=port)
    raise typer.Exit(run_local_airflow(airflow, ready))


operator_app = typer.Typer(help="The SalesPipeline custom resource and its kopf operator.")
app.add_typer(operator_app, name="operator")


@operator_app.command("crd")
def operator_crd() -> None:
    """Print the SalesPipeline CRD (as committed under charts/salespipe/crds/)."""
    from salespipe.control.crd import crd_yaml

    sys.stdout.write(crd_yaml())


@operator_app.command("docs")
def operator_docs() -> None:
    """Print the SalesPipeline field reference (docs/salespipeline.md)."""
    from salespipe.control.crd import docs_markdown

    sys.stdout.write(docs_markdown())


@operator_app.command("run")
def operator_run(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Namespaces (globs) to serve; all when absent."),
    ] = None,
    log_json: Annotated[bool, typer.Option(help="Structured JSON log lines.")] = True,
    verbose: Annotated[bool, typer.Option(help="Debug logging.")] = False,
) -> None:
    """Run the operator against the current kubeconfig (or in-cluster credentials).

    Airflow and tuning come from the environment: SALESPIPE_AIRFLOW_URL,
    SALESPIPE_AIRFLOW_USERNAME, SALESPIPE_AIRFLOW_PASSWORD, SALESPIPE_TRIGGER_DAG,
    SALESPIPE_DAG_IDS, SALESPIPE_POLL_SECONDS, SALESPIPE_RESYNC_SECONDS,
    SALESPIPE_AWAIT_STRIMZI, SALESPIPE_OPERATOR_METRICS_PORT.
    """
    import os

    from salespipe.control.run import argv, environment

    # A fresh interpreter: the operator needs none of the data engines this CLI imports.
    args = argv(namespace or [], log_json=log_json, verbose=verbose)
    os.execve(args[0], args, environment())


def main() -> None:
    """Console entry point: one clear line and a non-zero exit on failure."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (OSError, ValueError) as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
