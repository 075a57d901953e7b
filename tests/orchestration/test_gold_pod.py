"""On a cluster, Gold is a pod per changed pipeline: `salespipe gold` on the pipeline's
layers and dbt target, restricted, with credentials only from the Secret it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from salespipe.orchestration.conf import RunConf
from salespipe.orchestration.gold_pod import gold_arguments, render_gold_pod

SNOWFLAKE = RunConf(
    pipeline="emea",
    silver_uri="s3://lake/silver",
    gold_target="snowflake",
    gold_database="SALES",
    gold_schema="EMEA_GOLD",
    gold_secret="emea-snowflake",
)
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: unused}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.fixture
def pod_request(tmp_path: Path) -> Any:
    """The pod Airflow's KubernetesPodOperator would create from a rendered template
    (it builds the request without calling the cluster, but wants a kubeconfig)."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    (tmp_path / "kubeconfig").write_text(KUBECONFIG)

    def build(conf: RunConf) -> Any:
        operator = KubernetesPodOperator(
            task_id="gold",
            name="salespipe-gold",
            namespace="salespipe",
            config_file=str(tmp_path / "kubeconfig"),
            pod_template_dict=render_gold_pod(conf, "registry.example/salespipe:1.2.3"),
        )
        return operator.build_pod_request_obj()

    return build


def test_the_pod_builds_the_pipelines_gold_on_its_target(pod_request: Any) -> None:
    pod = pod_request(SNOWFLAKE)
    (container,) = pod.spec.containers
    assert container.image == "registry.example/salespipe:1.2.3"
    assert [*container.command, *container.args] == [
        "salespipe",
        "gold",
        "--data-dir",
        ".salespipe",
        "--target",
        "snowflake",
        "--silver-uri",
        "s3://lake/silver",
        "--database",
        "SALES",
        "--schema",
        "EMEA_GOLD",
    ]
    assert pod.metadata.labels["salespipe.io/pipeline"] == "emea"


def test_credentials_come_only_from_the_named_secret(pod_request: Any) -> None:
    (container,) = pod_request(SNOWFLAKE).spec.containers
    assert [source.secret_ref.name for source in container.env_from] == ["emea-snowflake"]
    assert {e.name for e in container.env} == {"SALESPIPE_PIPELINE"}
    assert "emea-snowflake" not in " ".join(container.args)


def test_an_embedded_pipeline_needs_no_secret(pod_request: Any) -> None:
    conf = RunConf(pipeline="dev", data_dir="s3://lake/dev")
    (container,) = pod_request(conf).spec.containers
    assert not container.env_from
    assert gold_arguments(conf) == ["gold", "--data-dir", "s3://lake/dev", "--target", "duckdb"]


def test_the_pod_runs_restricted(pod_request: Any) -> None:
    pod = pod_request(SNOWFLAKE)
    (container,) = pod.spec.containers
    context = container.security_context
    assert context.run_as_non_root and not context.allow_privilege_escalation
    assert context.capabilities.drop == ["ALL"]
    assert pod.spec.security_context.seccomp_profile.type == "RuntimeDefault"
    assert pod.spec.service_account_name == "salespipe-gold"
    assert pod.spec.automount_service_account_token is False
    assert container.resources.limits["memory"] == "2Gi"
