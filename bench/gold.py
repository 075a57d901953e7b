"""Benchmark Gold: a full ``dbt build`` on N Silver lines (wall time, peak RSS), the
incremental rebuild after 1% new lines as a fraction of the full build, and the fixed
per-call overhead of dbt (start-up, parse with and without partial parsing, and with
the manifest kept in-process).

Each measured step runs in a fresh child process so its peak RSS is its own (the
child's VmHWM) and start-up costs are not hidden by warm imports.
Besides wall time, each step's CPU time (user + system of the child, DuckDB's threads
included) is reported: on a machine shared with other jobs it is the steadier figure.

    python -m bench.gold --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 5
"""Rounds (a full build, an incremental one, a rebuild without new lines) in the
one-process measure; medians are reported."""


def _child(step: str, data_dir: str) -> dict[str, Any]:
    """Run ``step`` in a new interpreter; its JSON answer plus wall time and peak RSS."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bench.gold", "--child", step, "--data-dir", data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{step} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    answer: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    answer["wall_s"] = wall
    answer["cpu_s"] = usage.ru_utime + usage.ru_stime - cpu_before
    # the child's own peak, as it measured it (see _peak_rss_mib)
    answer["peak_rss_mib"] = answer["self_rss_mib"]
    return answer


def _peak_rss_mib() -> float:
    """This process's peak resident set since its exec (VmHWM). ru_maxrss would not do:
    Linux carries it across exec from the forked parent, the data generator's memory
    included."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_child(step: str, data_dir: str) -> dict[str, Any]:
    """Inside the child: one measured step."""
    started = time.perf_counter()
    from salespipe.gold import build_gold, gold_status, run_dbt
    from salespipe.settings import Settings

    imported = time.perf_counter()
    settings = Settings(data_dir=data_dir)
    answer: dict[str, Any] = {"import_s": imported - started}
    if step in ("build", "incremental"):
        result = build_gold(settings, full_refresh=step == "build")
        if not result.success:
            raise SystemExit(result.summary())
        answer.update(
            dbt_s=result.elapsed_s,
            tests=result.tests_passed,
            fact_rows=gold_status(settings)["fact_rows"],
        )
    elif step == "warm":
        answer.update(_warm(settings, Path(data_dir)))
    elif step == "parse":
        # leaves partial_parse.msgpack in the target dir, as any earlier call would
        run_dbt("parse", settings, reuse_manifest=False)
    elif step == "parse-full":
        t = time.perf_counter()
        run_dbt("parse", settings, reuse_manifest=False, extra=["--no-partial-parse"])
        answer["parse_s"] = time.perf_counter() - t
    elif step == "overhead":
        # importing dbt, a partial parse from a new process, then a 1-model build twice:
        # first in the process, then with the manifest kept in-process.
        t = time.perf_counter()
        from dbt.cli.main import dbtRunner  # noqa: F401

        answer["dbt_import_s"] = time.perf_counter() - t
        t = time.perf_counter()
        run_dbt("parse", settings, reuse_manifest=False)
        answer["partial_parse_s"] = time.perf_counter() - t
        t = time.perf_counter()
        run_dbt("build", settings, extra=["--select", "dim_date", "--exclude", "test_type:data"])
        answer["first_small_build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        run_dbt("build", settings, extra=["--select", "dim_date", "--exclude", "test_type:data"])
        answer["cached_small_build_s"] = time.perf_counter() - t
    answer["self_rss_mib"] = _peak_rss_mib()
    return answer


def _warm(settings: Any, data_dir: Path) -> dict[str, Any]:
    """Inside the child: the one-process measure.

    One long-lived process (the way to keep the fixed overhead out of repeated calls):
    import and parse once, then REPEAT rounds of a full build, 1% new lines, an
    incremental build and a rebuild without new lines (the floor of an incremental
    build: what dbt costs whatever the data), the parsed manifest kept in-process.
    Rounds interleave the kinds so that all see the same machine: on a shared host,
    speed drifts by a third over a minute, which skewed the ratio when all full builds
    ran first. Ratios are the medians of the rounds'.
    """
    from salespipe.gold import build_gold
    from salespipe.gold.runner import parsed_manifest

    answer: dict[str, Any] = {}
    t = time.perf_counter()
    parsed_manifest(settings)
    answer["fixed_s"] = time.perf_counter() - t
    fulls, incrs, noops, added = [], [], [], []
    cpu: dict[str, list[float]] = {"full": [], "incremental": []}
    for _ in range(REPEAT):
        # CPU time (all threads, DuckDB's included) besides wall: a host that takes
        # the CPU away for a while stretches wall time, not CPU time
        started_cpu = time.process_time()
        fulls.append(build_gold(settings, full_refresh=True))
        cpu["full"].append(time.process_time() - started_cpu)
        added.append(_add_new_lines(data_dir, 0.01))
        started_cpu = time.process_time()
        incrs.append(build_gold(settings))
        cpu["incremental"].append(time.process_time() - started_cpu)
        noops.append(build_gold(settings))
    failed = [r.summary() for r in fulls + incrs + noops if not r.success]
    if failed:
        raise SystemExit("\n".join(failed))
    answer.update(
        added=added[0],
        full_runs=[r.elapsed_s for r in fulls],
        incremental_runs=[r.elapsed_s for r in incrs],
        noop_runs=[r.elapsed_s for r in noops],
        noop_s=statistics.median(r.elapsed_s for r in noops),
        noop_fraction=statistics.median(
            n.elapsed_s / f.elapsed_s for f, n in zip(fulls, noops, strict=True)
        ),
        full_s=statistics.median(r.elapsed_s for r in fulls),
        incremental_s=statistics.median(r.elapsed_s for r in incrs),
        fraction=statistics.median(
            i.elapsed_s / f.elapsed_s for f, i in zip(fulls, incrs, strict=True)
        ),
        cpu_fraction=statistics.median(
            i / f for f, i in zip(cpu["full"], cpu["incremental"], strict=True)
        ),
    )
    return answer


def _keep_run_results(data_dir: Path, name: str) -> None:
    """Keep dbt's per-node timings of a step (the next dbt call overwrites them)."""
    source = data_dir / "gold" / "target" / "run_results.json"
    if source.exists():
        (data_dir / f"run_results.{name}.json").write_bytes(source.read_bytes())


def _prepare(rows: int, data_dir: Path) -> dict[str, float]:
    """Generate ``rows`` lines (1% defects) and write them as Silver."""
    sys.path.insert(0, str(ROOT))
    from tests.gold.silver_fixture import parse_generated, write_silver

    from salespipe.generate import generate

    t = time.perf_counter()
    generate(rows, seed=5, out_dir=data_dir / "drops", defect_rate=0.01)
    generated = time.perf_counter() - t
    t = time.perf_counter()
    sales, quarantine = parse_generated(data_dir / "drops")
    write_silver(data_dir / "silver", sales, quarantine)
    return {"generate_s": generated, "silver_s": time.perf_counter() - t, "lines": sales.num_rows}


def _add_new_lines(data_dir: Path, fraction: float) -> int:
    """Append ``fraction`` of Silver again as new lines (new order ids, later
    ingestion), as a later Silver run would; returns how many."""
    import pyarrow as pa
    from deltalake import DeltaTable

    uri = str(data_dir / "silver" / "sales")
    table = DeltaTable(uri).to_pyarrow_table()
    count = max(1, int(table.num_rows * fraction))
    sample = table.slice(table.num_rows - count, count).to_pylist()
    # stamped now, as a Silver run stamps its lines: later than every line before it
    later = datetime.now(UTC)
    batch = f"bench-incremental-{time.time_ns()}"
    for n, row in enumerate(sample):
        row["order_id"] = f"{batch}-{row['order_id']}"
        row["_ingested_at"] = later
        row["_event_time"] = later + timedelta(microseconds=n)
        row["_batch_id"] = batch
    new = pa.Table.from_pylist(sample, schema=table.schema)
    metrics = (
        DeltaTable(uri)
        .merge(new, "t.order_id = s.order_id AND t.row_id = s.row_id", "s", "t")
        .when_not_matched_insert_all()
        .execute()
    )
    inserted = int(metrics["num_target_rows_inserted"])
    if inserted != count:
        raise SystemExit(f"expected {count} new Silver lines, merged {inserted}")
    return inserted


def _table(
    prep: dict[str, float],
    *,
    full: dict[str, Any],
    incr: dict[str, Any],
    added: int,
    parse_full: dict[str, Any],
    overhead: dict[str, Any],
) -> Table:
    """The figures as a rich table."""
    table = Table(title=f"Gold dbt build on {prep['lines']:,} Silver lines")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("note")
    table.add_row("full build: dbt build", f"{full['dbt_s']:.1f} s", f"{full['tests']} tests")
    table.add_row("full build: process wall", f"{full['wall_s']:.1f} s", "incl. start-up, parse")
    table.add_row("full build: process CPU", f"{full['cpu_s']:.1f} s", "user + system")
    table.add_row("full build: peak RSS", f"{full['peak_rss_mib']:.0f} MiB", "child process")
    table.add_row("incremental: new lines", f"{added:,}", "1% of Silver")
    table.add_row("incremental: dbt build", f"{incr['dbt_s']:.1f} s", "same tests")
    fraction = incr["dbt_s"] / full["dbt_s"]
    table.add_row(
        "incremental / full", f"{fraction:.0%}", "target < 30%" + (" OK" if fraction < 0.3 else "")
    )
    table.add_row("incremental: process wall", f"{incr['wall_s']:.1f} s", "incl. start-up, parse")
    table.add_row("incremental: process CPU", f"{incr['cpu_s']:.1f} s", "user + system")
    table.add_row(
        "incremental / full, process CPU", f"{incr['cpu_s'] / full['cpu_s']:.0%}", "load-robust"
    )
    table.add_row("incremental: peak RSS", f"{incr['peak_rss_mib']:.0f} MiB", "")
    table.add_row(
        "fixed: interpreter + salespipe import", f"{full['import_s']:.1f} s", "per process"
    )
    table.add_row("fixed: dbt import", f"{overhead['dbt_import_s']:.1f} s", "per process")
    table.add_row("fixed: full parse", f"{parse_full['parse_s']:.1f} s", "first call")
    table.add_row(
        "fixed: partial parse", f"{overhead['partial_parse_s']:.1f} s", "new process, no change"
    )
    table.add_row(
        "fixed: 1-model build", f"{overhead['first_small_build_s']:.1f} s", "first in process"
    )
    table.add_row(
        "fixed: 1-model build again",
        f"{overhead['cached_small_build_s']:.1f} s",
        "manifest kept in-process",
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data-dir", default=".salespipe-bench-gold")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--reuse-silver", action="store_true", help="keep the Silver already in --data-dir"
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_run_child(args.child, args.data_dir)))
        return 0

    console = Console()
    data_dir = Path(args.data_dir).resolve()
    if args.reuse_silver and (data_dir / "silver" / "sales").exists():
        from deltalake import DeltaTable

        lines = DeltaTable(str(data_dir / "silver" / "sales")).to_pyarrow_dataset().count_rows()
        prep: dict[str, float] = {"lines": lines}
    else:
        if data_dir.exists():
            import shutil

            shutil.rmtree(data_dir)
        console.print(f"preparing {args.rows:,} generated lines as Silver in {data_dir} ...")
        prep = _prepare(args.rows, data_dir)
    load_before = os.getloadavg()[0]
    parse_full = _child("parse-full", str(data_dir))
    # every measured call then starts, like every call after a project's first, from
    # the partial-parse cache
    _child("parse", str(data_dir))
    full = _child("build", str(data_dir))
    _keep_run_results(data_dir, "full")
    added = _add_new_lines(data_dir, 0.01)
    incr = _child("incremental", str(data_dir))
    _keep_run_results(data_dir, "incremental")
    warm = _child("warm", str(data_dir))
    overhead = _child("overhead", str(data_dir))

    table = _table(
        prep, full=full, incr=incr, added=added, parse_full=parse_full, overhead=overhead
    )
    warm_fraction = warm["fraction"]
    table.add_row("one process: import + parse", f"{warm['fixed_s']:.1f} s", "once")
    runs = ", ".join(f"{x:.1f}" for x in warm["full_runs"])
    table.add_row("one process: full build", f"{warm['full_s']:.1f} s", f"median of {runs}")
    runs = ", ".join(f"{x:.1f}" for x in warm["incremental_runs"])
    table.add_row(
        "one process: incremental build",
        f"{warm['incremental_s']:.1f} s",
        f"median of {runs}; +{warm['added']:,} lines each, manifest kept",
    )
    table.add_row(
        "one process: incremental / full",
        f"{warm_fraction:.0%}",
        "median of the rounds' ratios; target < 30%" + (" OK" if warm_fraction < 0.3 else ""),
    )
    runs = ", ".join(f"{x:.1f}" for x in warm["noop_runs"])
    table.add_row(
        "one process: rebuild, no new lines",
        f"{warm['noop_s']:.1f} s = {warm['noop_fraction']:.0%}",
        f"median of {runs}; the floor of an incremental build, as a fraction of full",
    )
    table.add_row(
        "one process: incremental / full, CPU",
        f"{warm['cpu_fraction']:.0%}",
        "median of the rounds' ratios of CPU time; load-robust",
    )
    fraction = incr["dbt_s"] / full["dbt_s"]
    console.print(table)
    console.print(
        f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} cores"
    )
    figures = {
        "prepare": prep,
        "full": full,
        "incremental": incr,
        "added": added,
        "parse_full": parse_full,
        "overhead": overhead,
        "warm": warm,
        "fraction": fraction,
        "warm_fraction": warm_fraction,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
