"""The images, checked statically (no Docker engine here): what the pods rely on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from salespipe.gold.runner import DBT_PROJECT_ENV

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "images" / "salespipe" / "Dockerfile"


def final_stage(text: str) -> str:
    return text[text.rindex("\nFROM ") :]


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    user = re.findall(r"^USER (\S+)", final_stage(DOCKERFILE.read_text()), re.M)
    assert user and user[-1].split(":")[0].isdigit() and not user[-1].startswith("0")


def test_the_entrypoint_is_the_cli_the_dbt_pod_calls() -> None:
    """sales_analytics' KubernetesPodOperator runs cmds ["salespipe"] + ["gold", ...]."""
    assert 'ENTRYPOINT ["salespipe"]' in final_stage(DOCKERFILE.read_text())


def test_the_dbt_project_is_found_through_the_runners_variable() -> None:
    assert f"{DBT_PROJECT_ENV}=/opt/salespipe-dbt" in DOCKERFILE.read_text()


def test_installed_extras_exist_in_pyproject() -> None:
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    wanted = re.search(r"'\.\[([a-z,]+)\]'", DOCKERFILE.read_text())
    assert wanted and set(wanted.group(1).split(",")) <= extras
