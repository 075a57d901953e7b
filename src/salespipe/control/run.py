"""The operator process: ``python -m salespipe.control.run`` (what ``salespipe operator
run`` execs and ``operators/salespipe_operator.py`` runs), as ``kopf run`` would
start it.

Memory: the process imports only kopf, the kubernetes client and the control
package. ``salespipe operator run`` execs this module instead of running in the CLI's
interpreter, which holds DuckDB, delta-rs and Arrow (~120 MB). kopf also imports
every Kubernetes client library it finds (for isinstance checks on owner
references); the operator does not use ``kubernetes_asyncio`` (which Airflow's
Kubernetes provider installs beside it), and its import costs ~50 MB of RSS, so it
is hidden from this process.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

NAMESPACES_ENV = "SALESPIPE_OPERATOR_NAMESPACES"


def run_operator(namespaces: Sequence[str], log_json: bool = True, verbose: bool = False) -> None:
    """Serve the given namespaces (globs), or the whole cluster when none are given."""
    sys.modules.setdefault("kubernetes_asyncio", None)  # type: ignore[arg-type]
    import kopf

    import salespipe.control.handlers  # noqa: F401  (importing registers the handlers)

    # The resync loop serves the same namespaces kopf watches.
    os.environ[NAMESPACES_ENV] = ",".join(namespaces)
    kopf.configure(
        verbose=verbose, log_format=kopf.LogFormat.JSON if log_json else kopf.LogFormat.FULL
    )
    kopf.run(standalone=True, clusterwide=not namespaces, namespaces=list(namespaces))


def environment() -> dict[str, str]:
    """The operator process's environment: glibc limited to two malloc arenas, since
    a per-thread arena for each of the handler threads holds memory the process no
    longer uses (a common RSS fix for threaded Python servers); an explicit
    MALLOC_ARENA_MAX wins."""
    return {"MALLOC_ARENA_MAX": "2", **os.environ}


def argv(namespaces: Sequence[str], log_json: bool, verbose: bool) -> list[str]:
    """The command line of this module for the given options."""
    args = [sys.executable, "-m", __name__]
    for ns in namespaces:
        args += ["--namespace", ns]
    if not log_json:
        args.append("--plain-logs")
    if verbose:
        args.append("--verbose")
    return args


def main(args: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}", description=__doc__)
    parser.add_argument("--namespace", "-n", action="append", default=[])
    parser.add_argument("--plain-logs", action="store_true", help="human log lines, not JSON")
    parser.add_argument("--verbose", action="store_true")
    opts = parser.parse_args(args)
    run_operator(opts.namespace, log_json=not opts.plain_logs, verbose=opts.verbose)


if __name__ == "__main__":
    main()
