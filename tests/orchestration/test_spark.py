"""The Silver SparkApplication, rendered from a run conf, against the upstream Spark
operator CRD (../shared/crds/spark-operator)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from salespipe.dev.shared import shared_dir
from salespipe.orchestration.conf import ConfError, RunConf
from salespipe.orchestration.spark import SparkSpec, render_spark_application
from tests.support import crd_schema

CRD = shared_dir() / "crds" / "spark-operator" / "sparkoperator.k8s.io_sparkapplications.yaml"
CONF = RunConf(pipeline="emea", data_dir="s3://lake/emea", silver_uri="s3://lake/silver/emea")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return crd_schema(CRD, "v1beta2")


def test_the_manifest_is_valid_against_the_spark_operator_crd(schema: dict[str, Any]) -> None:
    manifest = render_spark_application(CONF, SparkSpec(executor_instances=4), "run-1")
    jsonschema.Draft7Validator(schema).validate(manifest)
    assert manifest["kind"] == "SparkApplication"
    assert manifest["metadata"]["name"] == "emea-silver"
    assert manifest["spec"]["executor"]["instances"] == 4


def test_the_crd_check_catches_a_wrong_manifest(schema: dict[str, Any]) -> None:
    """Guards the test above: the schema really constrains spec."""
    manifest = render_spark_application(CONF, SparkSpec())
    manifest["spec"]["type"] = "Cobol"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(manifest)


def test_the_job_gets_the_pipelines_layers_and_line_key() -> None:
    args = render_spark_application(CONF, SparkSpec(), "run-1")["spec"]["arguments"]
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--bronze-uri"] == "s3://lake/emea/bronze"
    assert pairs["--silver-uri"] == "s3://lake/silver/emea"
    assert pairs["--line-key"] == "order_id,row_id"
    assert pairs["--run-id"] == "run-1"


def test_pods_run_restricted_and_carry_no_credentials() -> None:
    spec = render_spark_application(CONF, SparkSpec())["spec"]
    for role in ("driver", "executor"):
        context = spec[role]["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert spec[role]["serviceAccount"] == "salespipe-spark"
    text = json.dumps(spec).lower()
    assert "secret" not in text and "password" not in text and "access_key" not in text


def test_bad_spark_resources_are_refused() -> None:
    with pytest.raises(ConfError, match="executor_instances must be at least 1"):
        SparkSpec.from_mapping({"executor_instances": 0})
    with pytest.raises(ConfError, match="unknown spark keys"):
        SparkSpec.from_mapping({"gpus": 1})


def test_the_pipelines_spark_conf_is_added_but_cannot_override_delta() -> None:
    spark = SparkSpec.from_mapping(
        {
            "spark_conf": {
                "spark.sql.shuffle.partitions": "64",
                "spark.sql.extensions": "com.example.Other",
            }
        }
    )
    conf = render_spark_application(CONF, spark)["spec"]["sparkConf"]
    assert conf["spark.sql.shuffle.partitions"] == "64"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
