"""dbt-duckdb plugin that gives every dbt connection DuckDB's delta extension.

``INSTALL delta`` downloads from the network, which is unavailable here; the
``duckdb-extension-delta`` wheel carries the binary instead. It is copied into an
extension directory of our own (not ``~/.duckdb``) and loaded on each connection, so
the Silver sources can be read through the Delta log with ``delta_scan``.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from salespipe.gold.extensions import load_delta


class Plugin(BasePlugin):
    """Referenced from dbt/profiles.yml as ``salespipe.gold.duckdb_plugin``."""

    extension_directory: str

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.extension_directory = str(plugin_config["extension_directory"])

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        load_delta(conn, self.extension_directory)
