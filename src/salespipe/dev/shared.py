"""Where the read-only shared/ folder (upstream CRDs for tests) sits: beside the
checkout, as on developer machines and in CI; ``SALESPIPE_SHARED_DIR`` overrides."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout holding this package (an editable install), else the cwd."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "salespipe").is_dir():
            return parent
    return Path.cwd()


def shared_dir() -> Path:
    """The shared/ folder beside the repo (env SALESPIPE_SHARED_DIR wins)."""
    env = os.environ.get("SALESPIPE_SHARED_DIR")
    return Path(env) if env else repo_root().parent / "shared"


def strimzi_crd(name: str) -> Path:
    """One upstream Strimzi CRD file, e.g. ``047-Crd-kafkaconnector.yaml``."""
    return shared_dir() / "crds" / "strimzi" / name
