"""Snowflake-specific SQL checked on fakesnow, in its own venv.

fakesnow needs duckdb 2.x while salespipe pins duckdb 1.5.5, so these tests run only
in a separate venv that has fakesnow, dbt-core and dbt-snowflake (no salespipe):
``make test-snowflake``. Elsewhere they are not collected (rather than skipped), so a
skip never passes for a result.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("fakesnow") else ["test_*.py"]


def pytest_sessionfinish() -> None:
    """fakesnow makes its stage directory at import and never removes it (its own TODO):
    remove it, so test runs leave no /tmp/fakesnow_bucket_* behind."""
    import shutil
    import sys

    stage = sys.modules.get("fakesnow.transforms.stage")
    if stage is not None:
        shutil.rmtree(stage.LOCAL_BUCKET_PATH, ignore_errors=True)
