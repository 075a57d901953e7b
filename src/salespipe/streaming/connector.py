"""The production Bronze sink: a Strimzi ``KafkaConnector`` for the Kafka Connect S3 sink
that writes exactly the layout of our own sink (see ``layout.py``).

Choices that keep the two identical, and exactly once:

* ``TimeBasedPartitioner`` hourly on the **record** timestamp, with ``rotate.interval.ms``
  (record time, not ``rotate.schedule.interval.ms``): the S3 sink is exactly-once only
  with a deterministic partitioner and rotation, since a re-delivered batch must map to
  the same object name ``topic+partition+startOffset`` to overwrite it.
* ``InsertField$Value`` adds ``_kafka_partition`` and ``_kafka_offset`` to each line,
  as our sink does: Silver's lineage position is the Kafka offset.
* Malformed records go to a dead-letter **topic** with the partition/offset/reason in
  headers (``errors.deadletterqueue.*``): Connect cannot write a dead-letter file, and
  message contents are not logged (``errors.log.include.messages=false``).
* Credentials are never in the CR: the values are ``${secrets:<ns>/<secret>:<key>}``
  references resolved inside Connect by Strimzi's ``KubernetesSecretConfigProvider``;
  ``connect_config_providers()`` is what the KafkaConnect resource needs for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salespipe.streaming.layout import EVENTS_DIR, OFFSET_FIELD, OFFSET_PAD, PARTITION_FIELD

API_VERSION = "kafka.strimzi.io/v1"
S3_SINK_CLASS = "io.confluent.connect.s3.S3SinkConnector"
PATH_FORMAT = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"
"""Joda pattern of ``year=YYYY/month=MM/day=DD/hour=HH`` (``layout.hour_path``)."""
SECRET_PROVIDER = "secrets"


@dataclass(frozen=True)
class SecretRef:
    """A key of a Kubernetes Secret in the Connect cluster's namespace."""

    name: str
    key: str

    def placeholder(self, namespace: str) -> str:
        return f"${{{SECRET_PROVIDER}:{namespace}/{self.name}:{self.key}}}"


def render_kafka_connector(
    *,
    name: str = "salespipe-bronze-sink",
    namespace: str = "salespipe",
    connect_cluster: str = "salespipe-connect",
    topic: str = "sales_events",
    bucket: str,
    prefix: str = "bronze",
    region: str = "us-east-1",
    endpoint: str | None = None,
    access_key: SecretRef = SecretRef("salespipe-s3", "AWS_ACCESS_KEY_ID"),
    secret_key: SecretRef = SecretRef("salespipe-s3", "AWS_SECRET_ACCESS_KEY"),
    flush_size: int = 1000,
    rotate_interval_ms: int = 60_000,
    tasks_max: int = 3,
    part_size: int = 5_242_880,
    dead_letter_topic: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The KafkaConnector manifest. ``prefix`` is the Bronze root inside the bucket, so
    objects land at ``s3://<bucket>/<prefix>/sales_data/<topic>/year=.../hour=.../``."""
    topics_dir = f"{prefix.strip('/')}/{EVENTS_DIR}" if prefix.strip("/") else EVENTS_DIR
    config: dict[str, Any] = {
        "topics": topic,
        "s3.bucket.name": bucket,
        "s3.region": region,
        "s3.part.size": part_size,
        "aws.access.key.id": access_key.placeholder(namespace),
        "aws.secret.access.key": secret_key.placeholder(namespace),
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "topics.dir": topics_dir,
        "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
        "partition.duration.ms": 3_600_000,
        "path.format": PATH_FORMAT,
        "locale": "en-US",
        "timezone": "UTC",
        "timestamp.extractor": "Record",
        "flush.size": flush_size,
        "rotate.interval.ms": rotate_interval_ms,
        "filename.offset.zero.pad.width": OFFSET_PAD,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": False,
        "transforms": "kafkaCoordinates",
        "transforms.kafkaCoordinates.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.kafkaCoordinates.partition.field": PARTITION_FIELD,
        "transforms.kafkaCoordinates.offset.field": OFFSET_FIELD,
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dead_letter_topic or f"{topic}.dead_letter",
        "errors.deadletterqueue.context.headers.enable": True,
        "errors.log.enable": True,
        "errors.log.include.messages": False,
    }
    if endpoint:
        config["store.url"] = endpoint
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaConnector",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "strimzi.io/cluster": connect_cluster,
                "app.kubernetes.io/part-of": "salespipe",
                "app.kubernetes.io/component": "bronze-sink",
                **(labels or {}),
            },
        },
        "spec": {
            "class": S3_SINK_CLASS,
            "tasksMax": tasks_max,
            "autoRestart": {"enabled": True},
            "state": "running",
            "config": config,
        },
    }


def connect_config_providers() -> dict[str, str]:
    """``spec.config`` entries the KafkaConnect resource needs to resolve the Secret
    references above (its service account must be allowed to ``get`` that Secret)."""
    return {
        "config.providers": SECRET_PROVIDER,
        f"config.providers.{SECRET_PROVIDER}.class": (
            "io.strimzi.kafka.KubernetesSecretConfigProvider"
        ),
    }
