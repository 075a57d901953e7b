"""The KafkaConnector manifest against the upstream Strimzi 1.2.0 CRD schema, and its
agreement with our own sink's layout."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from salespipe.bronze.events import event_key
from salespipe.dev.shared import strimzi_crd
from salespipe.streaming.connector import (
    connect_config_providers,
    render_kafka_connector,
)
from tests.support import crd_schema

CRD_FILE = strimzi_crd("047-Crd-kafkaconnector.yaml")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not CRD_FILE.exists():
        pytest.fail(f"upstream CRD missing: {CRD_FILE} (see ../shared/crds/SOURCES.md)")
    return crd_schema(CRD_FILE)


@pytest.fixture
def manifest() -> dict[str, Any]:
    return render_kafka_connector(bucket="lake", endpoint="http://seaweedfs:8333")


def test_manifest_is_valid_against_the_strimzi_crd(
    schema: dict[str, Any], manifest: dict[str, Any]
) -> None:
    jsonschema.Draft7Validator(schema).validate(manifest)
    assert manifest["apiVersion"] == "kafka.strimzi.io/v1"
    assert manifest["kind"] == "KafkaConnector"
    assert manifest["metadata"]["labels"]["strimzi.io/cluster"] == "salespipe-connect"


def test_the_crd_schema_check_catches_a_wrong_manifest(
    schema: dict[str, Any], manifest: dict[str, Any]
) -> None:
    """Guards the test above: the schema really constrains spec."""
    manifest["spec"]["tasksMax"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(manifest)
    manifest["spec"]["tasksMax"] = 3
    manifest["spec"]["state"] = "sleeping"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(manifest)


def test_config_is_the_issues_s3_sink(manifest: dict[str, Any]) -> None:
    spec = manifest["spec"]
    config = spec["config"]
    assert spec["class"] == "io.confluent.connect.s3.S3SinkConnector"
    assert spec["tasksMax"] == 3
    assert config["format.class"] == "io.confluent.connect.s3.format.json.JsonFormat"
    assert config["partitioner.class"].endswith(".TimeBasedPartitioner")
    assert config["partition.duration.ms"] == 3_600_000
    assert config["timestamp.extractor"] == "Record"
    assert (config["flush.size"], config["rotate.interval.ms"]) == (1000, 60_000)
    assert config["s3.part.size"] == 5_242_880
    assert config["topics"] == "sales_events"
    # Strimzi refuses these inside config: they belong in spec.
    assert not {"name", "connector.class", "tasks.max"} & set(config)


def test_path_format_renders_the_same_hour_path_as_our_sink(manifest: dict[str, Any]) -> None:
    config = manifest["spec"]["config"]
    joda = {"YYYY": "2025", "MM": "03", "dd": "07", "HH": "09"}
    path = re.sub(r"'([^']*)'", r"\1", config["path.format"])
    for token, value in joda.items():
        path = path.replace(token, value)
    connect_key = (
        f"{config['topics.dir']}/sales_events/{path}/sales_events+2+"
        f"{42:0{config['filename.offset.zero.pad.width']}d}.json"
    )
    ours = event_key("sales_events", 2, 42, 1741338000000)  # 2025-03-07T09:00:00Z
    assert connect_key == f"bronze/{ours}"


def test_lines_carry_partition_and_offset_like_our_sink(manifest: dict[str, Any]) -> None:
    config = manifest["spec"]["config"]
    name = config["transforms"]
    assert config[f"transforms.{name}.type"].endswith("InsertField$Value")
    assert config[f"transforms.{name}.offset.field"] == "_kafka_offset"
    assert config[f"transforms.{name}.partition.field"] == "_kafka_partition"


def test_credentials_are_secret_references_only(manifest: dict[str, Any]) -> None:
    config = manifest["spec"]["config"]
    secret_like = {k: v for k, v in config.items() if "key" in k and k.startswith("aws")}
    assert set(secret_like) == {"aws.access.key.id", "aws.secret.access.key"}
    for value in secret_like.values():
        assert re.fullmatch(r"\$\{secrets:salespipe/salespipe-s3:AWS_[A-Z_]+\}", value)
    providers = connect_config_providers()
    assert providers["config.providers"] == "secrets"


def test_malformed_records_are_dead_lettered_not_dropped(manifest: dict[str, Any]) -> None:
    config = manifest["spec"]["config"]
    assert config["errors.tolerance"] == "all"
    assert config["errors.deadletterqueue.topic.name"] == "sales_events.dead_letter"
    assert config["errors.deadletterqueue.context.headers.enable"] is True
    assert config["errors.log.include.messages"] is False
