"""Fixtures of the control-plane tests: the real API server from tests/dev with the
SalesPipeline CRD installed, and helpers to build pipeline manifests."""

from __future__ import annotations

import json
import time
import urllib.error
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]

from salespipe.control.crd import API_VERSION, GROUP, KIND, PLURAL, VERSION, render_crd
from salespipe.dev.kube import KubeAPIServer
from tests.control.airflow_stub import AirflowStub
from tests.dev.conftest import kube_api, kube_client

__all__ = ["kube_api", "kube_client"]

NS = "default"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pipeline(name: str, **spec: Any) -> dict[str, Any]:
    """A minimal valid SalesPipeline with streaming; ``spec`` entries replace sections."""
    body: dict[str, Any] = {
        "source": {"batch": {"bronzeUri": "s3://lake/bronze"}, "streaming": {}},
        "silver": {"uri": "s3://lake/silver"},
    }
    body.update(spec)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": body}


class Pipelines:
    """CRUD on SalesPipelines in one namespace through the real API server."""

    def __init__(self, api: client.CustomObjectsApi, namespace: str = NS) -> None:
        self.api = api
        self.namespace = namespace

    def create(self, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.api.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body, **kwargs
        )
        return out

    def get(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = self.api.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )
        return out

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.api.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, patch
        )
        return out

    def patch_status(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.api.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, PLURAL, name, patch
        )
        return out

    def delete(self, name: str) -> None:
        self.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)


def rejection(call: Any) -> str:
    """The API server's message for a call that must fail with 422 Invalid."""
    with pytest.raises(ApiException) as err:
        call()
    assert err.value.status == 422, err.value.body
    message: str = json.loads(err.value.body)["message"]
    return message


@pytest.fixture(scope="session")
def salespipeline_crd(kube_api: KubeAPIServer) -> dict[str, Any]:
    """The generated CRD, installed, Established and served by discovery (which lags
    Established by a moment)."""
    crd = render_crd()
    kube_api.install_crds([crd])
    deadline = time.monotonic() + 30
    while True:
        try:
            kube_api.request("GET", f"/apis/{GROUP}/{VERSION}")
            return crd
        except urllib.error.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def pipelines(salespipeline_crd: dict[str, Any], kube_client: client.ApiClient) -> Pipelines:
    return Pipelines(client.CustomObjectsApi(kube_client))


@pytest.fixture
def airflow_stub() -> Iterator[AirflowStub]:
    stub = AirflowStub().start()
    try:
        yield stub
    finally:
        stub.stop()
