"""Session fixtures: one real Kubernetes API server (etcd + salespipe-apiserver).

`kube_api` starts it once per test session with the upstream Strimzi and Spark
operator CRDs installed; other test packages may reuse it through this file.
Binaries come from tools/kube/build.sh (cached) or SALESPIPE_KUBE_BIN.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config  # type: ignore[import-untyped]

from salespipe.dev.kube import KubeAPIServer, default_crd_files


@pytest.fixture(scope="session")
def kube_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAPIServer]:
    """A running API server with the shared upstream CRDs Established."""
    crds = default_crd_files()
    assert crds, "no CRDs found under ../shared/crds (set SALESPIPE_SHARED_DIR)"
    root = tmp_path_factory.mktemp("kube")
    with KubeAPIServer(root / "state", root / "kubeconfig", crd_files=crds) as kube:
        yield kube


@pytest.fixture(scope="session")
def kube_client(kube_api: KubeAPIServer) -> Iterator[client.ApiClient]:
    """A `kubernetes` ApiClient configured from the fixture's kubeconfig."""
    api = config.new_client_from_config(config_file=str(kube_api.kubeconfig))
    try:
        yield api
    finally:
        api.close()
