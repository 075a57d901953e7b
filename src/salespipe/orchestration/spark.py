"""The SparkApplication that runs a pipeline's Silver step on a cluster.

Rendered from the pipeline's run conf for the Kubeflow Spark operator
(``sparkoperator.k8s.io/v1beta2``) and handed to Airflow's SparkKubernetesOperator.
Credentials never appear here: the driver and executors get S3 access from their
service account (IRSA / workload identity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from salespipe.orchestration.conf import ConfError, RunConf

API_VERSION = "sparkoperator.k8s.io/v1beta2"
JOB_FILE = "local:///opt/salespipe/jobs/silver_spark.py"
"""The Spark job inside the salespipe image (built by the Spark engine's issue)."""

DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class SparkSpec:
    """Resources and image of the Spark engine, from the pipeline's ``spec.engine``."""

    image: str = "ghcr.io/salespipe/salespipe-spark:0.1.0"
    """Image holding Spark, Delta and the salespipe job."""
    spark_version: str = "4.0.0"
    namespace: str = "salespipe"
    service_account: str = "salespipe-spark"
    """Account whose cloud identity may read Bronze and write Silver; nothing else."""
    driver_cores: int = 1
    driver_memory: str = "1g"
    executor_cores: int = 1
    executor_memory: str = "2g"
    executor_instances: int = 2
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    """Extra ``sparkConf`` entries from the pipeline; Delta's and the UTC session
    settings below always win, so Silver's semantics cannot be configured away."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SparkSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values or {}) - known)
        if unknown:
            raise ConfError(f"unknown spark keys {unknown}; expected some of {sorted(known)}")
        spec = cls(**dict(values or {}))
        for name in ("driver_cores", "executor_cores", "executor_instances"):
            if getattr(spec, name) < 1:
                raise ConfError(f"spark {name} must be at least 1")
        return spec


def render_spark_application(conf: RunConf, spark: SparkSpec, run_id: str = "") -> dict[str, Any]:
    """The SparkApplication for one Silver run of ``conf``'s pipeline."""
    settings = conf.settings()
    labels = {
        "app.kubernetes.io/part-of": "salespipe",
        "app.kubernetes.io/component": "silver",
        "salespipe.io/pipeline": conf.pipeline,
    }
    arguments = [
        "--bronze-uri", settings.bronze.uri(),
        "--silver-uri", settings.silver.uri(),
        "--line-key", ",".join(settings.line_key),
        "--topic", conf.topic,
    ]  # fmt: skip
    if run_id:
        arguments += ["--run-id", run_id]
    pod = {
        "labels": labels,
        "serviceAccount": spark.service_account,
        "securityContext": RESTRICTED,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "SparkApplication",
        "metadata": {
            "name": f"{conf.pipeline}-silver",
            "namespace": spark.namespace,
            "labels": labels,
        },
        "spec": {
            "type": "Python",
            "pythonVersion": "3",
            "mode": "cluster",
            "image": spark.image,
            "imagePullPolicy": "IfNotPresent",
            "mainApplicationFile": JOB_FILE,
            "arguments": arguments,
            "sparkVersion": spark.spark_version,
            "sparkConf": {
                **spark.spark_conf,
                "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
                "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
                "spark.sql.session.timeZone": "UTC",
            },
            "restartPolicy": {
                "type": "OnFailure",
                "onFailureRetries": 2,
                "onFailureRetryInterval": 30,
                "onSubmissionFailureRetries": 3,
                "onSubmissionFailureRetryInterval": 20,
            },
            "timeToLiveSeconds": 3600,
            "driver": {**pod, "cores": spark.driver_cores, "memory": spark.driver_memory},
            "executor": {
                **pod,
                "cores": spark.executor_cores,
                "memory": spark.executor_memory,
                "instances": spark.executor_instances,
            },
        },
    }
