"""The test Kubernetes API server behaves like Kubernetes where our code relies on it.

Everything here runs against the real server from `kube_api` (upstream
apiextensions-apiserver + etcd): nothing is mocked.
"""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kopf.testing import KopfRunner  # type: ignore[import-untyped,unused-ignore]
from kubernetes import client, watch  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]

from salespipe.dev.kube import KubeAPIServer, default_crd_files, load_manifests

NS = "default"
STRIMZI = ("kafka.strimzi.io", "v1", "kafkatopics")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _topic(name: str, partitions: Any = 3) -> dict[str, Any]:
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": "salespipe"}},
        "spec": {"partitions": partitions, "replicas": 1, "config": {"retention.ms": 604800000}},
    }


def test_shared_crds_are_established(kube_client: client.ApiClient) -> None:
    expected = {d["metadata"]["name"] for d in load_manifests(default_crd_files())}
    assert {
        "kafkatopics.kafka.strimzi.io",
        "kafkaconnectors.kafka.strimzi.io",
        "sparkapplications.sparkoperator.k8s.io",
    } <= expected
    # Raw JSON: building client models for ~3.5 MB of schemas takes seconds.
    raw = client.ApiextensionsV1Api(kube_client).list_custom_resource_definition(
        _preload_content=False
    )
    established = {
        c["metadata"]["name"]
        for c in json.loads(raw.data)["items"]
        if any(
            x["type"] == "Established" and x["status"] == "True"
            for x in c["status"].get("conditions") or []
        )
    }
    assert expected <= established
    # Discovery lists the CRD groups, as kubectl and kopf need.
    groups = {g.name for g in client.ApisApi(kube_client).get_api_versions().groups}
    assert {"kafka.strimzi.io", "sparkoperator.k8s.io"} <= groups


def test_valid_kafkatopic_is_accepted(kube_client: client.ApiClient) -> None:
    api = client.CustomObjectsApi(kube_client)
    name = _name("sales-events")
    api.create_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], _topic(name))
    got = api.get_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], name)
    assert got["spec"]["partitions"] == 3
    assert got["metadata"]["generation"] == 1


def test_invalid_kafkatopic_is_rejected_with_schema_message(
    kube_client: client.ApiClient,
) -> None:
    api = client.CustomObjectsApi(kube_client)
    name = _name("bad-topic")
    with pytest.raises(ApiException) as err:
        api.create_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], _topic(name, 0))
    assert err.value.status == 422
    message = json.loads(err.value.body)["message"]
    assert "spec.partitions" in message
    assert "should be greater than or equal to 1" in message
    with pytest.raises(ApiException) as err:
        api.create_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], _topic(name, "three"))
    assert err.value.status == 422
    assert "must be of type integer" in json.loads(err.value.body)["message"]


def test_server_side_dry_run_validates_without_persisting(
    kube_client: client.ApiClient,
) -> None:
    api = client.CustomObjectsApi(kube_client)
    name = _name("dry")
    out = api.create_namespaced_custom_object(
        *STRIMZI[:2], NS, STRIMZI[2], _topic(name), dry_run="All"
    )
    assert out["metadata"]["name"] == name
    with pytest.raises(ApiException) as missing:
        api.get_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], name)
    assert missing.value.status == 404
    with pytest.raises(ApiException) as invalid:
        api.create_namespaced_custom_object(
            *STRIMZI[:2], NS, STRIMZI[2], _topic(name, -1), dry_run="All"
        )
    assert invalid.value.status == 422


def test_server_side_apply_of_the_large_spark_crd_kind(kube_client: client.ApiClient) -> None:
    """A SparkApplication (the ~800 KB CRD) round-trips through server-side apply."""
    api = client.CustomObjectsApi(kube_client)
    name = _name("silver-etl")
    app = {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "type": "Python",
            "mode": "cluster",
            "sparkVersion": "4.0.0",
            "mainApplicationFile": "local:///opt/salespipe/jobs/silver.py",
            "driver": {"cores": 1, "memory": "1g"},
            "executor": {"instances": 1, "cores": 1, "memory": "1g"},
        },
    }
    # kubernetes 36.0.3 returns None for apply-patch answers: read the raw response.
    resp = api.patch_namespaced_custom_object(
        "sparkoperator.k8s.io",
        "v1beta2",
        NS,
        "sparkapplications",
        name,
        app,
        field_manager="salespipe-test",
        force=True,
        _content_type="application/apply-patch+yaml",
        _preload_content=False,
    )
    assert resp.status == 201
    out = json.loads(resp.data)
    assert out["spec"]["driver"]["memory"] == "1g"
    managers = {m["manager"] for m in out["metadata"]["managedFields"]}
    assert "salespipe-test" in managers


def test_watch_delivers_added_modified_deleted(kube_client: client.ApiClient) -> None:
    api = client.CustomObjectsApi(kube_client)
    start_rv = api.list_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2])["metadata"][
        "resourceVersion"
    ]
    name = _name("watched")
    api.create_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], _topic(name))
    api.patch_namespaced_custom_object(
        *STRIMZI[:2], NS, STRIMZI[2], name, {"spec": {"partitions": 6}}
    )
    api.delete_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], name)
    seen: list[tuple[str, int]] = []
    w = watch.Watch()
    for ev in w.stream(
        api.list_namespaced_custom_object,
        *STRIMZI[:2],
        NS,
        STRIMZI[2],
        resource_version=start_rv,
        timeout_seconds=10,
    ):
        obj = ev["object"]
        if obj["metadata"]["name"] == name:
            seen.append((ev["type"], obj["spec"]["partitions"]))
            if ev["type"] == "DELETED":
                w.stop()
    assert seen == [("ADDED", 3), ("MODIFIED", 6), ("DELETED", 6)]


def test_status_subresource_patch(kube_client: client.ApiClient) -> None:
    api = client.CustomObjectsApi(kube_client)
    name = _name("status")
    api.create_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], _topic(name))
    status = {
        "status": {
            "observedGeneration": 1,
            "topicName": name,
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ],
        }
    }
    api.patch_namespaced_custom_object_status(*STRIMZI[:2], NS, STRIMZI[2], name, status)
    got = api.get_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], name)
    assert got["status"]["conditions"][0]["type"] == "Ready"
    assert got["metadata"]["generation"] == 1  # status writes do not bump generation
    # The main resource ignores status; the status subresource ignores spec.
    api.patch_namespaced_custom_object(
        *STRIMZI[:2], NS, STRIMZI[2], name, {"status": {"topicName": "ignored"}}
    )
    api.patch_namespaced_custom_object_status(
        *STRIMZI[:2], NS, STRIMZI[2], name, {"spec": {"partitions": 99}}
    )
    got = api.get_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], name)
    assert got["status"]["topicName"] == name
    assert got["spec"]["partitions"] == 3


def test_stale_update_conflicts(kube_client: client.ApiClient) -> None:
    api = client.CustomObjectsApi(kube_client)
    name = _name("conflict")
    created = api.create_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], _topic(name))
    api.patch_namespaced_custom_object(
        *STRIMZI[:2], NS, STRIMZI[2], name, {"spec": {"partitions": 4}}
    )
    created["spec"]["partitions"] = 5
    with pytest.raises(ApiException) as err:
        api.replace_namespaced_custom_object(*STRIMZI[:2], NS, STRIMZI[2], name, created)
    assert err.value.status == 409


def test_namespaces_list_create_and_watch(kube_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_client)
    listed = core.list_namespace()
    assert {"default", "kube-system"} <= {n.metadata.name for n in listed.items}
    name = _name("ns")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    assert core.read_namespace(name).status.phase == "Active"
    w = watch.Watch()
    events = []
    for ev in w.stream(
        core.list_namespace,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=5,
    ):
        events.append((ev["type"], ev["object"].metadata.name))
        w.stop()
    assert events == [("ADDED", name)]
    core.delete_namespace(name)
    with pytest.raises(ApiException) as err:
        core.read_namespace(name)
    assert err.value.status == 404


def test_event_can_be_posted_and_listed(kube_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_client)
    target = _name("topic")
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name="salespipe-"),
        involved_object=client.V1ObjectReference(
            api_version="kafka.strimzi.io/v1", kind="KafkaTopic", name=target, namespace=NS
        ),
        reason="Reconciled",
        message="topic ready",
        type="Normal",
        source=client.V1EventSource(component="salespipe-test"),
    )
    posted = core.create_namespaced_event(NS, event)
    assert posted.metadata.name.startswith("salespipe-")
    core.patch_namespaced_event(posted.metadata.name, NS, {"count": 2})
    found = core.list_namespaced_event(NS, field_selector=f"involvedObject.name={target}")
    assert [(e.reason, e.count) for e in found.items] == [("Reconciled", 2)]


# --- kopf compatibility ------------------------------------------------------

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.salespipe.dev"},
    "spec": {
        "group": "test.salespipe.dev",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}

HANDLERS = textwrap.dedent(
    """
    import kopf

    @kopf.on.login()
    def login(**kwargs):
        # Reads $KUBECONFIG at call time; the kubernetes client's loader
        # froze its default path when first imported.
        return kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_):
        settings.watching.server_timeout = 10
        settings.networking.request_timeout = 15

    @kopf.on.create("test.salespipe.dev", "v1", "widgets")
    def create_fn(body, spec, patch, **_):
        patch.status["phase"] = "Ready"
        patch.status["doubled"] = spec.get("size", 0) * 2
        # An explicit Event, as our operator posts on transitions (kopf 1.45
        # no longer posts plain log lines as Events by default).
        kopf.info(body, reason="WidgetReady", message="created by create_fn")
    """
)


def test_kopf_operator_reacts_to_create(
    kube_api: KubeAPIServer,
    kube_client: client.ApiClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pins what our operator needs: discovery, namespace observer, watch, status patch, events."""
    kube_api.install_crds([WIDGET_CRD])
    core = client.CoreV1Api(kube_client)
    ns = _name("kopf")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    handlers = tmp_path / "widget_handlers.py"
    handlers.write_text(HANDLERS)
    monkeypatch.setenv("KUBECONFIG", str(kube_api.kubeconfig))
    api = client.CustomObjectsApi(kube_client)
    name = _name("widget")
    # A namespace glob makes kopf run its namespace observer (a watch on namespaces).
    args = ["run", "--standalone", "--namespace", "kopf-*", "--verbose", str(handlers)]
    with KopfRunner(args, timeout=60) as runner:
        time.sleep(1.0)  # let kopf discover resources and start watching
        api.create_namespaced_custom_object(
            "test.salespipe.dev",
            "v1",
            ns,
            "widgets",
            {
                "apiVersion": "test.salespipe.dev/v1",
                "kind": "Widget",
                "metadata": {"name": name},
                "spec": {"size": 21},
            },
        )
        deadline = time.monotonic() + 30
        status: dict[str, Any] = {}
        while time.monotonic() < deadline and status.get("phase") != "Ready":
            time.sleep(0.1)
            got = api.get_namespaced_custom_object("test.salespipe.dev", "v1", ns, "widgets", name)
            status = got.get("status", {})
        events: list[Any] = []
        while time.monotonic() < deadline and not events:
            events = core.list_namespaced_event(
                ns, field_selector=f"involvedObject.name={name}"
            ).items
            time.sleep(0.1)
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
    assert status["phase"] == "Ready" and status["doubled"] == 42
    assert [(e.reason, e.message, e.type) for e in events] == [
        ("WidgetReady", "created by create_fn", "Normal")
    ]
