"""The SalesPipeline CRD: generated from the models, committed current, and enforced
by the real API server (OpenAPI validation, CEL rules, defaulting, status bounds)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.crd import CRD_PATH, DOCS_PATH, GROUP, crd_yaml, docs_markdown, render_crd
from salespipe.control.model import CRON_PRESETS
from salespipe.dev.shared import repo_root
from tests.control.conftest import Pipelines, pipeline, rejection, unique

PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"


def test_committed_crd_and_docs_match_the_models() -> None:
    """Regenerate with `salespipe operator crd > charts/...` and `salespipe operator docs`."""
    committed = (repo_root() / CRD_PATH).read_text(encoding="utf-8")
    assert committed == crd_yaml(), f"{CRD_PATH} is stale: run `salespipe operator crd`"
    assert yaml.safe_load(committed) == render_crd()
    docs = (repo_root() / DOCS_PATH).read_text(encoding="utf-8")
    assert docs == docs_markdown(), f"{DOCS_PATH} is stale: run `salespipe operator docs`"


def test_field_docstrings_become_descriptions() -> None:
    spec = render_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    streaming = spec["properties"]["source"]["properties"]["streaming"]["properties"]
    assert streaming["topic"]["description"].startswith("Kafka topic name. Immutable")
    # A field's own docstring wins over its type's class docstring.
    assert streaming["s3SecretRef"]["description"].startswith("Secret with AWS_ACCESS_KEY_ID")


def test_discovery_serves_short_name_and_status_subresource(
    salespipeline_crd: dict[str, Any], kube_client: client.ApiClient
) -> None:
    resources = client.CustomObjectsApi(kube_client).get_api_resources(GROUP, "v1alpha1")
    by_name = {r.name: r for r in resources.resources}
    assert by_name["salespipelines"].short_names == ["sp"]
    assert by_name["salespipelines"].kind == "SalesPipeline"
    assert "salespipelines/status" in by_name


def test_minimal_pipeline_is_accepted_and_defaulted_by_the_server(pipelines: Pipelines) -> None:
    got = pipelines.create(pipeline(unique("minimal")))
    spec = got["spec"]
    assert spec["source"]["batch"] == {"bronzeUri": "s3://lake/bronze", "schedule": "@hourly"}
    assert spec["source"]["streaming"] == {
        "topic": "sales_events",
        "partitions": 3,
        "replicas": 3,
        "kafkaCluster": "salespipe",
        "connectCluster": "salespipe-connect",
        "flushSize": 1000,
        "rotateIntervalMs": 60000,
        "tasksMax": 3,
        "s3Region": "us-east-1",
        "s3SecretRef": {"name": "salespipe-s3"},
        "connectorConfig": {},
    }
    assert spec["silver"] == {
        "uri": "s3://lake/silver",
        "lineKey": ["order_id", "row_id"],
        "retentionDays": 7,
    }
    assert spec["gold"] == {"target": "duckdb", "database": "salespipe", "schema": "gold"}
    assert spec["engine"] == {"mode": "embedded"}
    assert spec["quality"] == {"maxQuarantineRatio": 0.05}
    assert spec["suspend"] is False


def test_batch_only_pipeline_has_no_streaming_section(pipelines: Pipelines) -> None:
    body = pipeline(unique("batch"), source={"batch": {"bronzeUri": "/data/bronze"}})
    body["spec"]["silver"] = {"uri": "/data/silver"}
    assert "streaming" not in pipelines.create(body)["spec"]["source"]


ACCEPTED_SCHEDULES = [
    *(f"@{preset}" for preset in CRON_PRESETS),
    "* * * * *",
    "*/15 * * * *",
    "5,35 0-6/2 1,15 JAN-Mar,jul mon-FRI",
    "59 23 31 12 7",
    "0 22-2 * * sat-sun",
    "00 08 01 01 0",
]


def test_schedules_croniter_reads_are_accepted(pipelines: Pipelines) -> None:
    """The API server's rule, not only Python's re, admits these (RE2 semantics)."""
    for schedule in ACCEPTED_SCHEDULES:
        body = pipeline(unique("cron"))
        body["spec"]["source"]["batch"]["schedule"] = schedule
        assert pipelines.create(body)["spec"]["source"]["batch"]["schedule"] == schedule


def test_full_snowflake_spark_pipeline_is_accepted(pipelines: Pipelines) -> None:
    body = pipeline(
        unique("full"),
        gold={"target": "snowflake", "database": "SALES", "credentialsSecretRef": {"name": "sf"}},
        engine={
            "mode": "spark",
            "spark": {
                "image": "ghcr.io/salespipe/spark:4.0.0",
                "executor": {"instances": 4, "memory": "8g"},
                "sparkConf": {"spark.sql.shuffle.partitions": "64"},
            },
        },
        quality={"maxQuarantineRatio": 0.0},
    )
    body["spec"]["source"]["batch"]["schedule"] = "*/15 6-20 * * MON-FRI"
    body["spec"]["source"]["streaming"] = {
        "topic": "orders.v2",
        "partitions": 12,
        "s3Endpoint": "http://seaweedfs:8333",
        "connectorConfig": {"s3.part.size": "5242880"},
    }
    spark = pipelines.create(body)["spec"]["engine"]["spark"]
    assert spark["driver"] == {"cores": 1, "memory": "1g"}
    assert spark["executor"] == {"instances": 4, "cores": 1, "memory": "8g"}


Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    """An edit that sets spec.<path> (dotted) to ``value``."""

    def edit(spec: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = spec
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return edit


INVALID: list[tuple[str, Edit, list[str]]] = [
    ("missing silver", lambda s: s.pop("silver"), ["spec.silver: Required value"]),
    (
        "bronze URI not s3 or absolute",
        _set("source.batch.bronzeUri", "http://lake/bronze"),
        ["spec.source.batch.bronzeUri", "should match"],
    ),
    (
        "credentials inline in a URI",
        _set("silver.uri", "s3://AKIAEXAMPLE:hunter2@lake/silver"),
        ["spec.silver.uri", "should match"],
    ),
    (
        "streaming into a local Bronze",
        _set("source.batch.bronzeUri", "/data/bronze"),
        ["spec.source", "streaming needs an s3:// batch.bronzeUri"],
    ),
    (
        "schedule not cron",
        _set("source.batch.schedule", "every hour"),
        ["spec.source.batch.schedule", "schedule must be a cron expression"],
    ),
    (
        "cron with four fields",
        _set("source.batch.schedule", "0 * * *"),
        ["schedule must be a cron expression"],
    ),
    (
        "minute out of range",
        _set("source.batch.schedule", "60 * * * *"),
        ["spec.source.batch.schedule", "schedule must be a cron expression"],
    ),
    (
        "day of month zero",
        _set("source.batch.schedule", "0 0 0 * *"),
        ["schedule must be a cron expression"],
    ),
    (
        "month name in the day-of-week field",
        _set("source.batch.schedule", "0 0 * * jan"),
        ["schedule must be a cron expression"],
    ),
    (
        "step of zero",
        _set("source.batch.schedule", "*/0 * * * *"),
        ["schedule must be a cron expression"],
    ),
    # Presets without cron ticks: croniter cannot evaluate them, so neither can the operator.
    ("@once", _set("source.batch.schedule", "@once"), ["schedule must be a cron expression"]),
    ("@reboot", _set("source.batch.schedule", "@reboot"), ["schedule must be a cron expression"]),
    (
        "zero partitions",
        _set("source.streaming.partitions", 0),
        ["spec.source.streaming.partitions", "partitions must be at least 1"],
    ),
    (
        "too many partitions",
        _set("source.streaming.partitions", 1001),
        ["should be less than or equal to 1000"],
    ),
    (
        "replicas not an integer",
        _set("source.streaming.replicas", "three"),
        ["spec.source.streaming.replicas", "must be of type integer"],
    ),
    (
        "topic with a slash",
        _set("source.streaming.topic", "sales/events"),
        ["spec.source.streaming.topic", "should match"],
    ),
    (
        "unknown gold target",
        _set("gold.target", "bigquery"),
        ['spec.gold.target: Unsupported value: "bigquery"'],
    ),
    (
        "snowflake without a secretRef",
        _set("gold.target", "snowflake"),
        ["spec.gold", "gold.credentialsSecretRef is required for target snowflake"],
    ),
    (
        "spark mode without spark settings",
        _set("engine.mode", "spark"),
        ["spec.engine", "engine.spark is required when engine.mode is spark"],
    ),
    (
        "spark memory not a quantity",
        _set(
            "engine", {"mode": "spark", "spark": {"image": "spark:4", "driver": {"memory": "lots"}}}
        ),
        ["spec.engine.spark.driver.memory", "should match"],
    ),
    (
        "quarantine ratio above 1",
        _set("quality.maxQuarantineRatio", 1.5),
        ["spec.quality.maxQuarantineRatio", "should be less than or equal to 1"],
    ),
    (
        "order_id alone as line key",
        _set("silver.lineKey", ["order_id"]),
        ["order_id alone does not identify a line"],
    ),
    (
        "duplicate line key column",
        _set("silver.lineKey", ["order_id", "order_id"]),
        ["spec.silver.lineKey[1]", "Duplicate value"],
    ),
    (
        "password in connector config",
        _set("source.streaming.connectorConfig", {"aws.secret.access.key": "hunter2"}),
        ["spec.source.streaming.connectorConfig", "inline credentials are not allowed"],
    ),
    (
        "token in spark conf",
        _set(
            "engine",
            {"mode": "spark", "spark": {"image": "spark:4", "sparkConf": {"x.Token": "t"}}},
        ),
        ["spec.engine.spark.sparkConf", "inline credentials are not allowed"],
    ),
    (
        "private key in spark conf value",
        _set(
            "engine",
            {"mode": "spark", "spark": {"image": "spark:4", "sparkConf": {"x.pem": PRIVATE_KEY}}},
        ),
        ["private key material is not allowed"],
    ),
    (
        "secretRef with a bad name",
        _set("gold.credentialsSecretRef", {"name": "Not_A_Name"}),
        ["spec.gold.credentialsSecretRef.name", "should match"],
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_field_is_rejected_with_the_servers_message(
    pipelines: Pipelines, edit: Edit, expected: list[str]
) -> None:
    body = pipeline(unique("invalid"))
    edit(body["spec"])
    message = rejection(lambda: pipelines.create(body))
    for part in expected:
        assert part in message


def test_name_longer_than_a_dns_label_is_rejected(pipelines: Pipelines) -> None:
    message = rejection(lambda: pipelines.create(pipeline("p" * 64)))
    assert "metadata.name must be a DNS label of at most 63 characters" in message


def test_inline_secret_in_an_unknown_field_is_rejected_under_strict_validation(
    pipelines: Pipelines,
) -> None:
    """No field takes a credential: with kubectl's default (Strict) field validation an
    extra `password` is refused, not silently kept."""
    body = pipeline(unique("strict"))
    body["spec"]["gold"] = {"password": "hunter2"}
    with pytest.raises(client.ApiException) as err:
        pipelines.create(body, field_validation="Strict")
    assert err.value.status == 400
    assert 'unknown field "spec.gold.password"' in json.loads(err.value.body)["message"]


def test_topic_is_immutable_and_partitions_only_grow(pipelines: Pipelines) -> None:
    name = unique("transition")
    pipelines.create(pipeline(name))
    message = rejection(
        lambda: pipelines.patch(name, {"spec": {"source": {"streaming": {"topic": "other"}}}})
    )
    assert "spec.source.streaming.topic" in message and "topic is immutable" in message
    message = rejection(
        lambda: pipelines.patch(name, {"spec": {"source": {"streaming": {"partitions": 2}}}})
    )
    assert "partitions cannot be decreased" in message
    grown = pipelines.patch(name, {"spec": {"source": {"streaming": {"partitions": 6}}}})
    assert grown["spec"]["source"]["streaming"]["partitions"] == 6
    assert grown["metadata"]["generation"] == 2


def _condition(kind: str, message: str = "ok") -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": "Reconciled",
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }


def test_status_is_bounded(pipelines: Pipelines) -> None:
    name = unique("status")
    pipelines.create(pipeline(name))
    ok = {"status": {"observedGeneration": 1, "conditions": [_condition("Ready")]}}
    assert pipelines.patch_status(name, ok)["status"]["conditions"][0]["type"] == "Ready"
    long_message = {"status": {"conditions": [_condition("Ready", "x" * 1025)]}}
    assert "Too long" in rejection(lambda: pipelines.patch_status(name, long_message))
    unknown_type = {"status": {"conditions": [_condition("Happy")]}}
    assert "Unsupported value" in rejection(lambda: pipelines.patch_status(name, unknown_type))
    bad_time = copy.deepcopy(ok)
    bad_time["status"]["conditions"][0]["lastTransitionTime"] = "yesterday"
    assert "lastTransitionTime" in rejection(lambda: pipelines.patch_status(name, bad_time))
