"""``salespipe operator run``: the operator in this process, as ``kopf run`` would start it."""

from __future__ import annotations

import os
from collections.abc import Sequence

import kopf


def run_operator(namespaces: Sequence[str], log_json: bool = True, verbose: bool = False) -> None:
    """Serve the given namespaces (globs), or the whole cluster when none are given."""
    import salespipe.control.handlers  # noqa: F401  (importing registers the handlers)

    # The resync loop reads the same namespaces kopf watches.
    os.environ["SALESPIPE_OPERATOR_NAMESPACES"] = ",".join(namespaces)

    kopf.configure(
        verbose=verbose, log_format=kopf.LogFormat.JSON if log_json else kopf.LogFormat.FULL
    )
    kopf.run(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
    )
