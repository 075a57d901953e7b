"""Typed settings of one pipeline: where its layers live and how Silver keys lines.

The CLI builds them from flags and environment; the Airflow tasks and the operator
build them from a pipeline's spec. Nothing below this module reads the environment
for these values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from salespipe.contract.schema import LINE_KEY, validate_line_key
from salespipe.storage import ObjectStore

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A Kubernetes name that is one label (at most 63 characters): pipelines, labels."""
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A Kubernetes object name (at most 253 characters): Secrets, most objects."""
SQL_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""An unquoted SQL identifier (at most 255 characters): Gold databases and schemas,
column names. The CRD's schema and the DAGs' run conf check against these same
patterns, so what the API server admits a DAG run accepts."""

DEFAULT_DATA_DIR = ".salespipe"
DATA_DIR_ENV = "SALESPIPE_DATA_DIR"


@dataclass(frozen=True)
class Settings:
    """Where a pipeline's layers live, and the knobs of its Silver step."""

    data_dir: str = DEFAULT_DATA_DIR
    """Root of every layer: a local directory or an ``s3://bucket/prefix`` URI."""
    bronze_uri: str | None = None
    """Bronze root; defaults to ``<data_dir>/bronze``."""
    silver_uri: str | None = None
    """Silver root (the Delta tables); defaults to ``<data_dir>/silver``."""
    line_key: tuple[str, ...] = LINE_KEY
    """Columns that identify one order line; never ``order_id`` alone."""
    topic: str = "sales_events"
    """Kafka topic whose Bronze event files Silver takes in (``sales_data/<topic>/``)."""
    memory_limit: str = "1GB"
    """DuckDB's memory limit for the Silver step; work beyond it spills to disk."""
    threads: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    """DuckDB worker threads."""
    scratch_dir: str | None = None
    """Local directory for spill files and fetched S3 objects; a temp dir by default."""
    gold_target: Literal["duckdb", "snowflake"] = "duckdb"
    """The dbt target Gold builds: the embedded DuckDB file, or Snowflake (account,
    user, role, warehouse and key come from the ``SNOWFLAKE_*`` environment)."""
    gold_database: str | None = None
    """DuckDB: the file's stem (``salespipe``); Snowflake: the database
    (``$SNOWFLAKE_DATABASE`` when None)."""
    gold_schema: str = "gold"
    """Schema of the facts and dimensions (and of the build ledger)."""

    def __post_init__(self) -> None:
        validate_line_key(self.line_key)

    @classmethod
    def from_env(cls, data_dir: str | None = None, **overrides: object) -> Settings:
        """Settings for ``data_dir``, else ``$SALESPIPE_DATA_DIR``, else ``.salespipe``."""
        root = data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
        return cls(data_dir=root, **overrides)  # type: ignore[arg-type]

    @property
    def root(self) -> ObjectStore:
        return ObjectStore(self.data_dir)

    @property
    def bronze(self) -> ObjectStore:
        """The Bronze store: raw files exactly as they arrived."""
        return ObjectStore(self.bronze_uri) if self.bronze_uri else self.root.child("bronze")

    @property
    def silver(self) -> ObjectStore:
        """The Silver store: the ``sales`` and ``sales_quarantine`` Delta tables."""
        return ObjectStore(self.silver_uri) if self.silver_uri else self.root.child("silver")
