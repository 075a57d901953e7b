"""The Kubernetes objects a SalesPipeline owns: a Strimzi KafkaTopic and the S3 sink
KafkaConnector (``streaming.connector`` renders its config), both in the pipeline's
namespace with an ownerReference (so Kubernetes' garbage collector removes them with
the pipeline) and labels the operator watches them by (drift correction).

Pure functions of the pipeline's identity and spec: the reconciler server-side
applies exactly what these return, so a re-apply of an unchanged pipeline is a
no-op on the API server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from salespipe.control.crd import API_VERSION, KIND
from salespipe.control.model import SalesPipelineSpec, StreamingSource
from salespipe.streaming import connector
from salespipe.streaming.connector import render_kafka_connector

STRIMZI_GROUP = "kafka.strimzi.io"
STRIMZI_VERSION = "v1"
PIPELINE_LABEL = "salespipe.io/pipeline"
"""Names the owning pipeline on every child; the operator watches children by it."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "salespipe-operator"}


@dataclass(frozen=True)
class ChildKind:
    """Where a kind of child lives in the API."""

    kind: str
    plural: str
    group: str = STRIMZI_GROUP
    version: str = STRIMZI_VERSION


TOPIC = ChildKind("KafkaTopic", "kafkatopics")
CONNECTOR = ChildKind("KafkaConnector", "kafkaconnectors")
CHILD_KINDS = (TOPIC, CONNECTOR)


@dataclass(frozen=True)
class Owner:
    """The identity of a SalesPipeline object (from its metadata)."""

    name: str
    namespace: str
    uid: str

    @classmethod
    def from_body(cls, body: Any) -> Owner:
        meta = body["metadata"]
        return cls(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"])

    def reference(self) -> dict[str, Any]:
        """The ownerReference each child carries (controller: one owner per child)."""
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def labels(self) -> dict[str, str]:
        return {PIPELINE_LABEL: self.name, "app.kubernetes.io/part-of": "salespipe", **MANAGED_BY}


def topic_object_name(owner: Owner) -> str:
    """KafkaTopic object names are DNS names; Kafka topic names may hold '_' and '.'."""
    return f"{owner.name}-events"


def connector_object_name(owner: Owner) -> str:
    return f"{owner.name}-bronze-sink"


def render_topic(owner: Owner, streaming: StreamingSource) -> dict[str, Any]:
    return {
        "apiVersion": f"{TOPIC.group}/{TOPIC.version}",
        "kind": TOPIC.kind,
        "metadata": {
            "name": topic_object_name(owner),
            "namespace": owner.namespace,
            "labels": {"strimzi.io/cluster": streaming.kafka_cluster, **owner.labels()},
            "ownerReferences": [owner.reference()],
        },
        "spec": {
            "topicName": streaming.topic,
            "partitions": streaming.partitions,
            "replicas": streaming.replicas,
        },
    }


def _bucket_and_prefix(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if parts.scheme != "s3":
        raise ValueError(f"the Kafka Connect S3 sink needs an s3:// Bronze URI, not {uri!r}")
    return parts.netloc, parts.path.strip("/")


def render_connector(owner: Owner, spec: SalesPipelineSpec) -> dict[str, Any]:
    """The S3 sink; ``spec.suspend`` pauses it (Strimzi ``spec.state: paused``)."""
    streaming = spec.source.streaming
    if streaming is None:
        raise ValueError("a batch-only pipeline has no connector")
    bucket, prefix = _bucket_and_prefix(spec.source.batch.bronze_uri)
    secret = streaming.s3_secret_ref.name
    manifest = render_kafka_connector(
        name=connector_object_name(owner),
        namespace=owner.namespace,
        connect_cluster=streaming.connect_cluster,
        topic=streaming.topic,
        bucket=bucket,
        prefix=prefix,
        region=streaming.s3_region,
        endpoint=streaming.s3_endpoint,
        access_key=connector.SecretRef(secret, "AWS_ACCESS_KEY_ID"),
        secret_key=connector.SecretRef(secret, "AWS_SECRET_ACCESS_KEY"),
        flush_size=streaming.flush_size,
        rotate_interval_ms=streaming.rotate_interval_ms,
        tasks_max=streaming.tasks_max,
        labels=owner.labels(),
    )
    manifest["metadata"]["ownerReferences"] = [owner.reference()]
    manifest["spec"]["config"].update(streaming.connector_config)
    manifest["spec"]["state"] = "paused" if spec.suspend else "running"
    return manifest


def render_children(owner: Owner, spec: SalesPipelineSpec) -> list[dict[str, Any]]:
    """Every child the pipeline should own now (none for a batch-only pipeline)."""
    if spec.source.streaming is None:
        return []
    return [render_topic(owner, spec.source.streaming), render_connector(owner, spec)]
