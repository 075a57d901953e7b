"""The pod that builds a pipeline's Gold on a cluster (``kubernetes`` mode).

Rendered from the run conf as a pod template for Airflow's KubernetesPodOperator, as
the Silver step's SparkApplication is (``spark``): ``salespipe gold`` with the
pipeline's layers and dbt target, under a restricted security context. Credentials
never pass through the conf: for Snowflake the conf names a Secret (the pipeline's
``spec.gold.credentialsSecretRef``) whose keys become the container's environment.
"""

from __future__ import annotations

from typing import Any

from salespipe.orchestration.conf import RunConf
from salespipe.orchestration.spark import RESTRICTED

CONTAINER = "base"
"""The KubernetesPodOperator's container name: the template must use it to be merged."""
SERVICE_ACCOUNT = "salespipe-gold"
"""Account whose cloud identity may read Silver; nothing else."""


def gold_arguments(conf: RunConf) -> list[str]:
    """``salespipe gold`` arguments for ``conf``'s pipeline."""
    args = ["gold", "--data-dir", conf.data_dir, "--target", conf.gold_target]
    if conf.silver_uri:
        args += ["--silver-uri", conf.silver_uri]
    if conf.gold_database:
        args += ["--database", conf.gold_database]
    if conf.gold_schema:
        args += ["--schema", conf.gold_schema]
    return args


def render_gold_pod(conf: RunConf, image: str) -> dict[str, Any]:
    """The pod template (a V1Pod as a dict) of ``conf``'s Gold build."""
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "command": ["salespipe"],
        "args": gold_arguments(conf),
        "env": [{"name": "SALESPIPE_PIPELINE", "value": conf.pipeline}],
        "securityContext": {**RESTRICTED, "readOnlyRootFilesystem": False},
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"memory": "2Gi"},
        },
    }
    if conf.gold_secret:
        container["envFrom"] = [{"secretRef": {"name": conf.gold_secret}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "labels": {
                "app.kubernetes.io/name": "salespipe-gold",
                "salespipe.io/pipeline": conf.pipeline,
            }
        },
        "spec": {
            "serviceAccountName": SERVICE_ACCOUNT,
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
        },
    }
