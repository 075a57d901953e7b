"""dbt-duckdb plugin that lets every dbt connection read Silver through its Delta log.

It loads DuckDB's delta extension from its wheel (``delta_scan``) and, when Silver is
on S3, the httpfs extension and a temporary S3 secret built from salespipe's storage
settings (the ``AWS_*`` environment). The profile passes only the Silver URI: the
credentials never pass through dbt's config, so dbt cannot log or write them to
``target/``.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from salespipe.gold.extensions import create_s3_secret, load_extension
from salespipe.storage import ObjectStore


class Plugin(BasePlugin):
    """Referenced from dbt/profiles.yml as ``salespipe.gold.duckdb_plugin``."""

    extension_directory: str
    silver: ObjectStore

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.extension_directory = str(plugin_config["extension_directory"])
        self.silver = ObjectStore(str(plugin_config["silver_root"]))

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        if self.silver.is_s3:
            load_extension(conn, "httpfs", self.extension_directory)
            create_s3_secret(conn, self.silver.uri(), self.silver.delta_options())
        load_extension(conn, "delta", self.extension_directory)
