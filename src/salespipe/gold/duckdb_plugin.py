"""dbt-duckdb plugin that lets every dbt connection read Silver through its Delta log.

It loads DuckDB's delta extension from its wheel (``delta_scan``) and, when Silver is
on S3, the httpfs extension and a temporary S3 secret built from salespipe's storage
settings (the ``AWS_*`` environment). The profile passes only the Silver URI: the
credentials never pass through dbt's config, so dbt cannot log or write them to
``target/``.

The profile attaches the Gold file to an in-memory instance that outlives a build;
between builds ``salespipe gold`` detaches the file (``detach_gold``), and the first
cursors of the next build attach it again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from salespipe.gold.extensions import create_s3_secret, load_extension
from salespipe.storage import ObjectStore

_gold_attached = threading.Event()
"""Set once a cursor has attached the profile's databases to the instance; cleared when
they are detached (``detach_gold``) or a new instance starts. Until then each new cursor
attaches them: ``ATTACH IF NOT EXISTS`` is one more statement per node (about 3 ms of a
thread holding the GIL), some fifty per build."""


class Plugin(BasePlugin):
    """Referenced from dbt/profiles.yml as ``salespipe.gold.duckdb_plugin``."""

    extension_directory: str
    silver: ObjectStore

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.extension_directory = str(plugin_config["extension_directory"])
        self.silver = ObjectStore(str(plugin_config["silver_root"]))
        self._secret_digest = ""
        self._lock = threading.Lock()

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        _gold_attached.clear()  # a new instance: nothing attached yet
        if self.silver.is_s3:
            load_extension(conn, "httpfs", self.extension_directory)
        load_extension(conn, "delta", self.extension_directory)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # The instance outlives a build, so what a build must see afresh is set here,
        # on its cursors: the Gold file, which detach_gold let go after the last build
        # (attached by the build's first cursors; IF NOT EXISTS, as two threads may both
        # get there first), and the S3 secret, re-created when the environment's
        # credentials changed.
        if not _gold_attached.is_set():
            for attachment in self.creds.attach if self.creds and self.creds.attach else ():
                cursor.execute(attachment.to_sql())
            _gold_attached.set()
        if self.silver.is_s3:
            options = self.silver.delta_options()
            # a digest, so that the plugin keeps no copy of the secret
            digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
            with self._lock:
                if digest != self._secret_digest:
                    create_s3_secret(cursor, self.silver.uri(), options)
                    self._secret_digest = digest


def detach_gold() -> None:
    """Detach the profile's databases from dbt-duckdb's instance, if it has one: DuckDB
    checkpoints each and releases its file, which other processes may then open. The
    instance stays, extensions loaded, for this process's next build."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    _gold_attached.clear()
    env = DuckDBConnectionManager._ENV
    conn = getattr(env, "conn", None)
    if env is None or conn is None:
        return
    try:
        for attachment in env.creds.attach or ():
            conn.execute(f'DETACH DATABASE IF EXISTS "{attachment.alias}"')
    except duckdb.Error:
        # e.g. a transaction a failed build left open: close the instance instead,
        # which releases the file all the same; the next build starts a new one
        env.close()
        DuckDBConnectionManager.close_all_connections()
