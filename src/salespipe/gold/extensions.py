"""Load DuckDB's delta extension from its wheel into a private extension directory."""

from __future__ import annotations

from pathlib import Path

from duckdb import DuckDBPyConnection


def load_delta(conn: DuckDBPyConnection, extension_directory: str) -> None:
    """Make ``delta_scan`` available on ``conn`` without network access.

    The wheel's binary is copied into ``extension_directory`` once (it must match
    the DuckDB version, which is why duckdb is pinned to 1.5.5), then loaded.
    """
    from duckdb_extensions import import_extension  # type: ignore[import-untyped]

    Path(extension_directory).mkdir(parents=True, exist_ok=True)
    conn.execute("SET extension_directory = ?", [extension_directory])
    installed = conn.execute(
        "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'delta'"
    ).fetchone()
    if not (installed and installed[0]):
        import_extension("delta", con=conn)
    conn.execute("LOAD delta")
