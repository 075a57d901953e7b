"""The main job on the embedded default: sample data -> Bronze -> Silver."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salespipe.bronze.ingest import Landing, expand_inputs, land
from salespipe.generate import GenerationReport, generate
from salespipe.gold.runner import GoldResult, build_gold
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver.batch import SilverResult, run_silver

Progress = Callable[[str, int, int], None]
"""(step, done, total): how the steps report progress to whoever shows it."""


@dataclass
class RunReport:
    """What ``salespipe run`` did, and the figures of every layer afterwards."""

    generation: GenerationReport
    landings: list[Landing] = field(default_factory=list)
    silver: SilverResult | None = None
    gold: GoldResult | None = None
    status: dict[str, Any] = field(default_factory=dict)


def ingest(
    settings: Settings, paths: list[Path], progress: Progress | None = None
) -> list[Landing]:
    """Land every CSV named (or inside a named folder) in Bronze."""
    files = expand_inputs(paths)
    landings = []
    for index, path in enumerate(files):
        if progress:
            progress("ingest", index, len(files))
        landings.append(land(settings.bronze, path))
    if progress:
        progress("ingest", len(files), len(files))
    return landings


def run_all(
    settings: Settings,
    rows: int,
    seed: int,
    defect_rate: float = 0.02,
    progress: Progress | None = None,
) -> RunReport:
    """Generate sample drops, land them, refine them into Silver, model Gold, report
    every layer.

    Samples go under ``<data_dir>/samples/seed=<seed>`` when the data dir is local
    (so they can be looked at), else to a temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="salespipe-samples-") as tmp:
        root = settings.root
        out = Path(root.uri("samples")) / f"seed={seed}" if not root.is_s3 else Path(tmp)
        done = [0]

        def generated(count: int) -> None:
            done[0] += count
            if progress:
                progress("generate", done[0], rows)

        report = RunReport(generate(rows, seed, out, defect_rate, progress=generated))
        report.landings = ingest(settings, [Path(f) for f in report.generation.files], progress)
    report.silver = run_silver(settings, progress)
    if progress:
        progress("gold", 0, 1)
    report.gold = build_gold(settings)
    if progress:
        progress("gold", 1, 1)
    report.status = layer_status(settings)
    return report
