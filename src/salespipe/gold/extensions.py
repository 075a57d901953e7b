"""DuckDB extensions from their wheels, and the S3 secret Gold reads Silver with.

``INSTALL`` downloads from the network, which is unavailable here; the
``duckdb-extension-*`` wheels carry the binaries instead (they must match the DuckDB
version, which is why duckdb is pinned to 1.5.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import duckdb
from duckdb import DuckDBPyConnection

SILVER_SECRET = "salespipe_silver"


def load_extension(conn: DuckDBPyConnection, name: str, extension_directory: str) -> None:
    """Load extension ``name`` on ``conn`` without network access.

    The wheel's binary is copied into ``extension_directory`` (ours, not
    ``~/.duckdb``) once, then loaded.
    """
    from duckdb_extensions import import_extension  # type: ignore[import-untyped]

    Path(extension_directory).mkdir(parents=True, exist_ok=True)
    conn.execute("SET extension_directory = ?", [extension_directory])
    installed = conn.execute(
        "SELECT installed FROM duckdb_extensions() WHERE extension_name = ?", [name]
    ).fetchone()
    if not (installed and installed[0]):
        import_extension(name, con=conn)
    conn.execute(f"LOAD {name}")


def create_s3_secret(
    conn: DuckDBPyConnection, scope: str, storage_options: Mapping[str, str]
) -> None:
    """A temporary DuckDB S3 secret for the URIs under ``scope``, from delta-rs style
    ``storage_options`` (``AWS_*``), used by httpfs and by the delta extension alike.

    The values travel as bound parameters, never in SQL text, so neither dbt's logs
    nor DuckDB's error messages can echo them; the secret is temporary (in memory),
    so it never lands in the Gold database file either.
    """
    params: dict[str, str] = {"scope": scope, "region": storage_options.get("AWS_REGION", "")}
    fields = ["TYPE s3", "SCOPE $scope", "REGION $region"]
    for option, field in (
        ("AWS_ACCESS_KEY_ID", "KEY_ID"),
        ("AWS_SECRET_ACCESS_KEY", "SECRET"),
        ("AWS_SESSION_TOKEN", "SESSION_TOKEN"),
    ):
        if storage_options.get(option):
            params[field.lower()] = storage_options[option]
            fields.append(f"{field} ${field.lower()}")
    endpoint = storage_options.get("AWS_ENDPOINT_URL")
    if endpoint:
        # An S3-compatible server (SeaweedFS, MinIO): host:port, path-style buckets.
        url = urlparse(endpoint)
        params["endpoint"] = url.netloc or url.path
        fields += ["ENDPOINT $endpoint", "URL_STYLE 'path'"]
        fields.append(f"USE_SSL {'false' if url.scheme == 'http' else 'true'}")
    sql = f"CREATE OR REPLACE TEMPORARY SECRET {SILVER_SECRET} ({', '.join(fields)})"
    try:
        conn.execute(sql, params)
    except duckdb.Error as exc:
        # Belt and braces: scrub the values should DuckDB ever quote one back.
        message = str(exc)
        for name in ("key_id", "secret", "session_token"):
            if params.get(name):
                message = message.replace(params[name], "***")
        raise RuntimeError(f"cannot create the S3 secret for {scope}: {message}") from None
