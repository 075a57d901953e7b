"""Fixtures for the DAG specs: Airflow's metadata DB in the session's throwaway home
(see ``tests/conftest.py``), the parsed DAG folder, and Bronze with real CSV drops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salespipe.generate import generate
from salespipe.orchestration.conf import RunConf
from salespipe.pipeline.run import ingest
from salespipe.settings import Settings


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's schema, created once per session in the throwaway home."""
    from airflow.utils.db import initdb

    initdb()


@pytest.fixture(scope="session")
def dagbag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).parents[2] / "dags"))


def land_sample(settings: Settings, rows: int, seed: int, out: Path) -> None:
    """Generate ``rows`` sample lines (with defects) and land them in Bronze."""
    report = generate(rows, seed, out, 0.02)
    ingest(settings, [Path(f) for f in report.files])


def run_dag(dag: Any, conf: dict[str, Any]) -> dict[str, str]:
    """``dag.test()`` with ``conf``; the state of each task (mapped ones: their worst).

    A pipeline conf is completed with ``RunConf``'s defaults: in-process, ``dag.test``
    keeps an earlier run's conf as the params' defaults, which would leak one test's
    pipeline into the next. Retries are turned off: ``dag.test`` would otherwise sit
    through the production backoff before reporting a failure.
    """
    if "pipeline" in conf:
        conf = {**RunConf().to_dict(), **conf}
    for t in dag.tasks:
        t.retries = 0
    run = dag.test(run_conf=conf)
    states: dict[str, str] = {}
    for ti in run.get_task_instances():
        state = str(ti.state)
        if states.get(ti.task_id) not in ("failed", "upstream_failed"):
            states[ti.task_id] = state
    return states


def asset_events(name: str) -> list[dict[str, Any]]:
    """The extras of every event of Asset ``name`` in the metadata DB, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id)
        )
        return [dict(extra or {}) for extra in session.scalars(query)]


@pytest.fixture
def connect_stub() -> Iterator[Any]:
    from tests.orchestration.connect_stub import KafkaConnectStub

    with KafkaConnectStub() as stub:
        yield stub
