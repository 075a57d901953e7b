"""Operator benchmark on the local API server: apply-to-Ready latency, a burst of
pipelines created at once, and the operator's memory.

    .venv/bin/python -m bench.operator [--sequential 50] [--burst 200]

* apply-to-Ready: pipelines created one at a time; each latency is from the create
  call to the watch event that shows Ready=True (p50/p95 over ``--sequential``).
* burst: ``--burst`` pipelines created at once by 8 client threads; time from the
  first create to the last Ready=True.
* RSS: the operator process's resident and peak memory (``salespipe operator run``
  in its own process, as deployed) after the burst.

Airflow is either the REST v2 stub from the tests (``--airflow stub``, the default;
tests/control/airflow_stub.py), which answers at once and so isolates the operator's
own cost, or a real one (``--airflow local``: ``salespipe dev airflow``'s API server,
scheduler and dag-processor with salespipe's DAGs, on a throwaway PostgreSQL, as
deployed: on SQLite a burst of triggers locks the scheduler out), where every trigger
creates a queued DAG run. Strimzi does not run here: child readiness is "applied"
(SALESPIPE_AWAIT_STRIMZI=false).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch  # type: ignore[import-untyped]
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table
from tests.control.airflow_stub import AirflowStub

from salespipe.control.crd import API_VERSION, GROUP, KIND, PLURAL, VERSION, render_crd
from salespipe.dev.airflow import USERNAME, LocalAirflow
from salespipe.dev.kube import KubeAPIServer, default_crd_files
from salespipe.dev.ports import free_port
from salespipe.dev.postgres import LocalPostgres

NAMESPACE = "bench"


def manifest(name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {
            "source": {"batch": {"bronzeUri": "s3://lake/bronze"}, "streaming": {}},
            "silver": {"uri": "s3://lake/silver"},
        },
    }


class ReadyWatch:
    """Records, per pipeline name, when a watch event first showed Ready=True."""

    def __init__(self, api: client.CustomObjectsApi) -> None:
        self.api = api
        self.ready_at: dict[str, float] = {}
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ReadyWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception:  # the server went away at the end of the run
                if not self._stop.is_set():
                    raise

    def _follow(self) -> None:
        stream = watch.Watch().stream(
            self.api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            NAMESPACE,
            PLURAL,
            timeout_seconds=30,
        )
        for event in stream:
            obj = event["object"]
            conds = (obj.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                with self.cond:
                    self.ready_at.setdefault(obj["metadata"]["name"], time.perf_counter())
                    self.cond.notify_all()

    def wait(self, names: list[str], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        with self.cond:
            while not all(n in self.ready_at for n in names):
                left = deadline - time.perf_counter()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value, _ = line.split()
            fields[key.rstrip(":")] = int(value)
    return fields


def reconciles_by_trigger(metrics_url: str) -> dict[str, int]:
    """Reconcile passes per trigger, from the operator's own /metrics."""
    with urllib.request.urlopen(metrics_url, timeout=5) as resp:
        families = text_string_to_metric_families(resp.read().decode())
    counts: dict[str, int] = {}
    for family in families:
        if family.name == "salespipe_operator_reconciles":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    trigger = sample.labels["trigger"]
                    counts[trigger] = counts.get(trigger, 0) + int(sample.value)
    return counts


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


class Airflow:
    """The Airflow the operator talks to, and how many ``sales_batch`` runs it holds
    (one per pipeline: none triggered twice)."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.stub: AirflowStub | None = None
        self.postgres: LocalPostgres | None = None
        self.local: LocalAirflow | None = None
        if kind == "stub":
            self.stub = AirflowStub().start()
            self.url, self.username, self.password = (
                self.stub.url,
                self.stub.username,
                self.stub.password,
            )
            return
        # PostgreSQL's own user must reach its directory: one of its own under /tmp
        pg_home = Path(tempfile.mkdtemp(prefix="salespipe-bench-pg-"))
        self.postgres = LocalPostgres(pg_home).start()
        self.local = LocalAirflow(
            home=workdir / "airflow",
            data_dir=workdir / "data",
            database_url=self.postgres.url,
        )
        try:
            self.local.start()
        except BaseException:
            self.stop()
            raise
        self.url, self.username, self.password = self.local.url, USERNAME, self.local.password

    def runs(self) -> int:
        if self.stub is not None:
            return len(self.stub.runs)
        from salespipe.orchestration.airflow_api import AirflowClient

        with AirflowClient(self.url, self.username, self.password) as api:
            # the operator's runs only: unpausing also lets the DAG's own cron start one
            body = api.call(
                "GET",
                "/api/v2/dags/sales_batch/dagRuns",
                params={"limit": 1, "run_id_pattern": "salespipe__"},
            )
        return int(body["total_entries"])

    def stop(self) -> None:
        if self.stub is not None:
            self.stub.stop()
        if self.local is not None:
            self.local.stop()
        if self.postgres is not None:
            self.postgres.stop()
            shutil.rmtree(self.postgres.home, ignore_errors=True)


def run(sequential: int, burst: int, workdir: Path, airflow_kind: str = "stub") -> dict[str, Any]:
    crds = [p for p in default_crd_files() if "strimzi" in p.parts]
    with KubeAPIServer(workdir / "kube", workdir / "kubeconfig", crd_files=crds) as kube:
        kube.install_crds([render_crd()])
        api_client = config.new_client_from_config(config_file=str(kube.kubeconfig))
        api_client.configuration.connection_pool_maxsize = 8
        core = client.CoreV1Api(api_client)
        api = client.CustomObjectsApi(api_client)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        airflow = Airflow(airflow_kind, workdir)
        metrics_port = free_port()
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        env = {
            **os.environ,
            "KUBECONFIG": str(kube.kubeconfig),
            "SALESPIPE_AIRFLOW_URL": airflow.url,
            "SALESPIPE_AIRFLOW_USERNAME": airflow.username,
            "SALESPIPE_AIRFLOW_PASSWORD": airflow.password,
            "SALESPIPE_AWAIT_STRIMZI": "false",
            "SALESPIPE_OPERATOR_METRICS_PORT": str(metrics_port),
        }
        log = (workdir / "operator.log").open("wb")
        operator = subprocess.Popen(
            [sys.executable, "-m", "salespipe.cli.app", "operator", "run", "-n", NAMESPACE],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        watcher = ReadyWatch(api).start()
        try:
            warm = "warmup"
            api.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, manifest(warm))
            if not watcher.wait([warm], 240):  # a new Airflow parses the DAGs first
                tail = Path(log.name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"operator never made {warm} Ready; its log ends:\n{tail}")
            latencies = []
            for i in range(sequential):
                name = f"seq-{i:03d}"
                t0 = time.perf_counter()
                api.create_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, PLURAL, manifest(name)
                )
                if not watcher.wait([name], 30):
                    raise RuntimeError(f"{name} not Ready in 30 s")
                latencies.append(watcher.ready_at[name] - t0)
            names = [f"burst-{i:03d}" for i in range(burst)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda n: api.create_namespaced_custom_object(
                            GROUP, VERSION, NAMESPACE, PLURAL, manifest(n)
                        ),
                        names,
                    )
                )
            created = time.perf_counter() - t0
            all_ready = watcher.wait(names, 300)
            burst_seconds = max(watcher.ready_at.get(n, float("inf")) for n in names) - t0
            memory = rss_kib(operator.pid)
            passes = reconciles_by_trigger(metrics_url)
            runs = airflow.runs()
        finally:
            watcher.stop()
            operator.terminate()
            operator.wait(30)
            log.close()
            airflow.stop()
    return {
        "airflow": airflow_kind,
        "sequential": sequential,
        "apply_to_ready_p50_s": round(percentile(latencies, 50), 3),
        "apply_to_ready_p95_s": round(percentile(latencies, 95), 3),
        "apply_to_ready_max_s": round(max(latencies), 3),
        "burst": burst,
        "burst_create_s": round(created, 2),
        "burst_all_ready_s": round(burst_seconds, 2) if all_ready else None,
        "operator_rss_mib": round(memory["VmRSS"] / 1024, 1),
        "operator_peak_rss_mib": round(memory["VmHWM"] / 1024, 1),
        "reconcile_passes": passes,
        "dag_runs_triggered": runs,
        "expected_dag_runs": 1 + sequential + burst,
    }


def table(result: dict[str, Any]) -> Table:
    """The figures against the issue's targets."""
    kind = "a real local Airflow on PostgreSQL" if result["airflow"] == "local" else "the stub"
    out = Table(title=f"SalesPipeline operator (Airflow: {kind})")
    out.add_column("measure")
    out.add_column("value", justify="right")
    out.add_column("target")
    out.add_row(
        f"apply -> Ready p50 / p95 / max ({result['sequential']} CRs, one at a time)",
        f"{result['apply_to_ready_p50_s']:.2f} / {result['apply_to_ready_p95_s']:.2f}"
        f" / {result['apply_to_ready_max_s']:.2f} s",
        "p95 < 2 s",
    )
    ready = result["burst_all_ready_s"]
    out.add_row(
        f"{result['burst']} created at once -> all Ready",
        "not all Ready" if ready is None else f"{ready:.1f} s",
        "< 60 s",
    )
    out.add_row(
        "operator RSS / peak",
        f"{result['operator_rss_mib']:.0f} / {result['operator_peak_rss_mib']:.0f} MiB",
        "< 200 MB",
    )
    out.add_row(
        "DAG runs triggered / expected",
        f"{result['dag_runs_triggered']} / {result['expected_dag_runs']}",
        "equal",
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--airflow", choices=["stub", "local"], default="stub")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="salespipe-bench-operator-") as tmp:
        result = run(args.sequential, args.burst, Path(tmp), args.airflow)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        Console().print(table(result))


if __name__ == "__main__":
    main()
