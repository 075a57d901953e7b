"""Snowflake-specific SQL checked on fakesnow, in its own venv.

fakesnow needs duckdb 2.x while salespipe pins duckdb 1.5.5, so these tests run only
in a separate venv that has fakesnow, dbt-core and dbt-snowflake (no salespipe):
``make test-snowflake``. Elsewhere they are not collected (rather than skipped), so a
skip never passes for a result.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("fakesnow") else ["test_*.py"]
