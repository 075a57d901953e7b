"""The ``salespipe`` command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from salespipe.cli.render import console, errors, print_json, silver_summary, status_tables
from salespipe.generate import generate as generate_data
from salespipe.pipeline.run import ingest as ingest_files
from salespipe.pipeline.run import run_all
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver

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
def run(
    rows: Annotated[int, typer.Option(min=1, help="Sample lines to generate.")] = 200_000,
    seed: Annotated[int, typer.Option()] = 42,
    defect_rate: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.02,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The main job: generate sample data, land it, refine it, print every layer."""
    settings = Settings.from_env(data_dir)
    with progress_bars() as bars:
        report = run_all(settings, rows, seed, defect_rate, reporter(bars))
    if as_json:
        print_json(report.status)
        return
    if report.silver:
        silver_summary(report.silver)
    status_tables(report.status)


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
