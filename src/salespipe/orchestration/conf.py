"""One pipeline's run conf: what every DAG run needs to know about its pipeline.

One set of DAGs serves every pipeline. A run learns which pipeline it works for
from its params (scheduled runs: the defaults, from the worker's environment) or
its conf (runs the operator triggers). The same mapping travels in Asset events,
so the analytics DAG knows whose Silver changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, cast, get_args

from salespipe.contract.schema import LINE_KEY, validate_line_key
from salespipe.settings import (
    DATA_DIR_ENV,
    DEFAULT_DATA_DIR,
    DNS_SUBDOMAIN,
    SQL_IDENTIFIER,
    Settings,
)

GoldTarget = Literal["duckdb", "snowflake"]
Mode = Literal["local", "kubernetes"]
MODE_ENV = "SALESPIPE_EXECUTION_MODE"
"""How tasks run on this Airflow: ``local`` (the embedded engine in the worker) or
``kubernetes`` (Silver as a SparkApplication, dbt in a pod). Configuration, not code."""
PIPELINE_ENV = "SALESPIPE_PIPELINE"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_IDENTIFIER = re.compile(SQL_IDENTIFIER)
_OBJECT_NAME = re.compile(DNS_SUBDOMAIN)


class ConfError(ValueError):
    """A run conf that names an unknown field or holds a bad value."""


@dataclass(frozen=True)
class RunConf:
    """The pipeline a DAG run works for, and where its layers live."""

    pipeline: str = "default"
    """The SalesPipeline's name (a Kubernetes object name)."""
    data_dir: str = DEFAULT_DATA_DIR
    """Root of the layers when the URIs below are not given."""
    bronze_uri: str | None = None
    """Bronze root; ``<data_dir>/bronze`` when empty."""
    silver_uri: str | None = None
    """Silver root; ``<data_dir>/silver`` when empty."""
    gold_target: GoldTarget = "duckdb"
    """The dbt target Gold builds: the embedded DuckDB file or Snowflake."""
    gold_database: str | None = None
    """DuckDB file stem or Snowflake database of Gold; the target's default if None."""
    gold_schema: str | None = None
    """Schema of Gold's facts and dimensions; ``gold`` if None."""
    gold_secret: str | None = None
    """Kubernetes Secret whose keys become the dbt pod's environment (``SNOWFLAKE_*``);
    in ``local`` mode the worker's own environment holds the credentials."""
    topic: str = "sales_events"
    """The Kafka topic whose events the streaming DAG lands."""
    mode: Mode = "local"
    """Where the heavy steps run: in the worker, or as Kubernetes workloads."""
    spark: Mapping[str, Any] | None = None
    """The Spark engine's image and resources (``kubernetes`` mode; see ``spark``)."""
    line_key: tuple[str, ...] | None = None
    """Columns that identify one order line in Silver; the contract's default if None."""
    max_quarantine_ratio: float | None = None
    """Fail the run (no Asset, no Gold) when a larger share of its lines is quarantined."""
    retention_days: int | None = None
    """Days of Silver history the batch run's VACUUM keeps; None: its default (7)."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.pipeline):
            raise ConfError(
                f"pipeline {self.pipeline!r}: must be a lowercase DNS label (a-z, 0-9, '-')"
            )
        if self.gold_target not in get_args(GoldTarget):
            raise ConfError(f"gold_target {self.gold_target!r}: expected duckdb or snowflake")
        if self.mode not in get_args(Mode):
            raise ConfError(f"mode {self.mode!r}: expected local or kubernetes")
        if self.line_key is not None:
            object.__setattr__(self, "line_key", tuple(self.line_key))
            try:
                validate_line_key(self.line_key)
            except ValueError as error:
                raise ConfError(f"line_key: {error}") from None
        for name in ("gold_database", "gold_schema"):
            value = getattr(self, name)
            if value is not None and not (len(value) <= 255 and _IDENTIFIER.match(value)):
                raise ConfError(f"{name} {value!r}: expected an identifier (letters, digits, _)")
        secret = self.gold_secret
        if secret is not None and not (len(secret) <= 253 and _OBJECT_NAME.match(secret)):
            raise ConfError(f"gold_secret {self.gold_secret!r}: expected a Secret name")
        ratio = self.max_quarantine_ratio
        if ratio is not None and not 0 <= ratio <= 1:
            raise ConfError(f"max_quarantine_ratio {ratio}: expected a share between 0 and 1")
        days = self.retention_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise ConfError(f"retention_days {days!r}: expected a whole number of days, at least 1")

    @classmethod
    def from_env(cls) -> RunConf:
        """Defaults of scheduled runs: the worker's environment."""
        return cls(
            pipeline=os.environ.get(PIPELINE_ENV, "default"),
            data_dir=os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR),
            mode=cast(Mode, os.environ.get(MODE_ENV, "local")),
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RunConf:
        """A conf from DAG params or an Asset event's extra; unknown keys are errors
        (a typo must not silently run the default pipeline)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfError(f"unknown run conf keys {unknown}; expected some of {sorted(known)}")
        clean = {k: v for k, v in values.items() if v not in (None, "")}
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: what a DAG run's conf and an Asset event's extra carry."""
        values = asdict(self)
        if self.line_key is not None:
            values["line_key"] = list(self.line_key)
        return values

    def settings(self) -> Settings:
        """The pipeline's layer settings."""
        return Settings(
            data_dir=self.data_dir,
            bronze_uri=self.bronze_uri,
            silver_uri=self.silver_uri,
            line_key=self.line_key or LINE_KEY,
            gold_target=self.gold_target,
            gold_database=self.gold_database,
            gold_schema=self.gold_schema or "gold",
        )
