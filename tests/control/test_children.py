"""The children a SalesPipeline owns: valid against the upstream Strimzi CRDs (by
schema and by the real API server), owned, labelled, paused when suspended."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from kubernetes import client  # type: ignore[import-untyped]

from salespipe.control.children import (
    CONNECTOR,
    PIPELINE_LABEL,
    TOPIC,
    Owner,
    render_children,
)
from salespipe.control.model import SalesPipelineSpec
from salespipe.control.schema import from_api
from salespipe.dev.shared import strimzi_crd
from tests.control.conftest import NS, pipeline
from tests.support import crd_schema

OWNER = Owner(name="emea", namespace=NS, uid="6f1d7a52-0d6e-4a43-9e53-4c1c1d9e2a10")


def spec_of(body: dict[str, Any]) -> SalesPipelineSpec:
    """The spec as the operator sees it: absent fields take the models' defaults (the
    same values the API server fills in from the CRD)."""
    return from_api(SalesPipelineSpec, body["spec"])


@pytest.fixture
def children() -> dict[str, dict[str, Any]]:
    body = pipeline("emea")
    body["spec"]["source"]["streaming"] = {
        "topic": "emea_events",
        "partitions": 6,
        "s3Endpoint": "http://seaweedfs:8333",
        "connectorConfig": {"s3.part.size": "10485760"},
    }
    body["spec"]["source"]["batch"]["bronzeUri"] = "s3://lake/emea/bronze"
    return {c["kind"]: c for c in render_children(OWNER, spec_of(body))}


@pytest.mark.parametrize(
    ("kind", "crd_file"),
    [("KafkaTopic", "043-Crd-kafkatopic.yaml"), ("KafkaConnector", "047-Crd-kafkaconnector.yaml")],
)
def test_children_are_valid_against_the_upstream_strimzi_crds(
    children: dict[str, dict[str, Any]], kind: str, crd_file: str
) -> None:
    jsonschema.Draft7Validator(crd_schema(strimzi_crd(crd_file))).validate(children[kind])
    assert children[kind]["apiVersion"] == "kafka.strimzi.io/v1"


def test_children_are_owned_and_labelled(children: dict[str, dict[str, Any]]) -> None:
    for child in children.values():
        meta = child["metadata"]
        assert meta["namespace"] == NS
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "salespipe.io/v1alpha1",
                "kind": "SalesPipeline",
                "name": "emea",
                "uid": OWNER.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert meta["labels"][PIPELINE_LABEL] == "emea"
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "salespipe-operator"
    assert children["KafkaTopic"]["metadata"]["labels"]["strimzi.io/cluster"] == "salespipe"
    connector = children["KafkaConnector"]
    assert connector["metadata"]["labels"]["strimzi.io/cluster"] == "salespipe-connect"


def test_topic_and_connector_follow_the_spec(children: dict[str, dict[str, Any]]) -> None:
    topic = children["KafkaTopic"]
    assert topic["metadata"]["name"] == "emea-events"  # a DNS name; the topic keeps its '_'
    assert topic["spec"] == {"topicName": "emea_events", "partitions": 6, "replicas": 3}
    config = children["KafkaConnector"]["spec"]["config"]
    assert config["topics"] == "emea_events"
    assert config["s3.bucket.name"] == "lake"
    assert config["topics.dir"] == "emea/bronze/sales_data"  # the sink appends the topic
    assert config["store.url"] == "http://seaweedfs:8333"
    assert config["s3.part.size"] == "10485760"  # the spec's extra config wins
    # Credentials are Secret references resolved inside Connect, never values.
    assert config["aws.secret.access.key"] == (
        "${secrets:default/salespipe-s3:AWS_SECRET_ACCESS_KEY}"
    )
    assert children["KafkaConnector"]["spec"]["state"] == "running"


def test_suspend_pauses_the_connector() -> None:
    body = pipeline("emea", suspend=True)
    connector = {c["kind"]: c for c in render_children(OWNER, spec_of(body))}
    assert connector["KafkaConnector"]["spec"]["state"] == "paused"


def test_batch_only_pipeline_has_no_children() -> None:
    body = pipeline("emea", source={"batch": {"bronzeUri": "/data/bronze"}})
    assert render_children(OWNER, spec_of(body)) == []


def test_the_real_api_server_accepts_the_children(
    children: dict[str, dict[str, Any]], kube_client: client.ApiClient
) -> None:
    """Server-side dry-run apply against the installed upstream Strimzi CRDs."""
    api = client.CustomObjectsApi(kube_client)
    for kind in (TOPIC, CONNECTOR):
        manifest = children[kind.kind]
        resp = api.patch_namespaced_custom_object(
            kind.group,
            kind.version,
            NS,
            kind.plural,
            manifest["metadata"]["name"],
            manifest,
            field_manager="salespipe-test",
            force=True,
            dry_run="All",
            _content_type="application/apply-patch+yaml",
            _preload_content=False,
        )
        assert json.loads(resp.data)["spec"] == manifest["spec"]
