"""The kopf handlers of the SalesPipeline operator (importing this module registers
them). ``operators/salespipe_operator.py`` and ``salespipe operator run`` load it.

Triggers, all ending in the same level-based pass (``reconcile.Reconciler``):

* create / update / resume of a SalesPipeline;
* any change to, or deletion of, a child labelled ``salespipe.io/pipeline`` that
  the operator did not write itself (drift correction, and Strimzi's status);
* a resync loop: pipelines with an unfinished DAG run every ``poll_seconds``, every
  pipeline every ``resync_seconds``, and a pipeline whose schedule tick has come at
  that tick: the loop sleeps until the nearest tick when it comes before the next
  poll, and a turn costs one LIST plus passes for the pipelines with something due.

Why the resync loop is not a kopf timer: kopf puts a finalizer on every object a
timer or daemon serves, so deleting a pipeline would hang while the operator is
down. The operator needs no finalizer at all: children go by ownerReference
(Kubernetes' garbage collector), and the DAGs are shared by every pipeline, so
nothing on Airflow's side belongs to one pipeline and must be cleaned. Deletion
therefore never waits on the operator or on Airflow.

Configuration comes from the environment (``Runtime.from_env``): the Airflow URL
and credentials, the DAG ids, intervals and the metrics port.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client, config  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]
from prometheus_client import start_http_server

from salespipe.control.airflow import Orchestrator
from salespipe.control.children import CONNECTOR, PIPELINE_LABEL, TOPIC, Owner
from salespipe.control.crd import GROUP, PLURAL, VERSION
from salespipe.control.metrics import DURATION, ERRORS, RECONCILES, RUNS_TRIGGERED, ReadyBook
from salespipe.control.reconcile import Kube, OperatorConfig, Outcome, Reconciler
from salespipe.control.schedule import PipelineSchedule
from salespipe.orchestration.airflow_api import AirflowClient

log = logging.getLogger("salespipe.control")
ENV_PREFIX = "SALESPIPE_"
WORKERS = 16
"""Threads for synchronous passes (and the API client's connection pool)."""
TICK_MARGIN_S = 0.05
"""The loop wakes this long after a tick, so that the tick has come by the clock the
pass reads (the sleep runs on the monotonic clock, ticks on the wall clock)."""


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def config_from_env() -> OperatorConfig:
    defaults = OperatorConfig()
    return OperatorConfig(
        trigger_dag=_env("TRIGGER_DAG", defaults.trigger_dag),
        figures_task=_env("FIGURES_TASK", defaults.figures_task),
        dag_ids=tuple(_env("DAG_IDS", ",".join(defaults.dag_ids)).split(",")),
        resync_seconds=float(_env("RESYNC_SECONDS", str(defaults.resync_seconds))),
        poll_seconds=float(_env("POLL_SECONDS", str(defaults.poll_seconds))),
        namespaces=tuple(n for n in _env("OPERATOR_NAMESPACES", "").split(",") if n),
        await_strimzi=_env("AWAIT_STRIMZI", "true").lower() in {"1", "true", "yes"},
    )


def airflow_from_env() -> AirflowClient:
    """Airflow's API URL and the operator's user; the password stays in the client
    (its errors and repr never show it)."""
    return AirflowClient(
        _env("AIRFLOW_URL", "http://localhost:8080"),
        _env("AIRFLOW_USERNAME", "admin"),
        _env("AIRFLOW_PASSWORD", ""),
    )


def api_client() -> client.ApiClient:
    """The kubernetes client for children, status and events: $KUBECONFIG (read now,
    not at import), else ~/.kube/config, else the in-cluster service account."""
    path = Path(os.environ.get("KUBECONFIG") or "~/.kube/config").expanduser()
    configuration = client.Configuration()
    if path.exists():
        config.load_kube_config(config_file=str(path), client_configuration=configuration)
    else:
        config.load_incluster_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = WORKERS
    return client.ApiClient(configuration)


@dataclass
class Resync:
    """The resync loop's plan, free of I/O (tests drive it with their own clock): which
    pipelines a turn passes, and when the next turn is."""

    reconciler: Reconciler
    seen: dict[str, float] = field(default_factory=dict)
    """uid -> monotonic time of the pipeline's last full pass from the loop."""
    next_tick: datetime | None = None
    """The nearest schedule tick still to come: the next turn is due by then."""

    def turn(
        self, bodies: list[dict[str, Any]], mono: float, now: datetime
    ) -> list[tuple[dict[str, Any], str]]:
        """The passes of one turn over the listed pipelines, as (body, trigger):
        ``resync`` (full) every ``resync_seconds``; else ``schedule`` once a tick has
        come, ``poll`` while a run is unfinished or Airflow did not answer (light).
        Pipelines with nothing due cost no call."""
        cfg = self.reconciler.config
        alive = {b["metadata"]["uid"] for b in bodies}
        for uid in set(self.seen) - alive:
            del self.seen[uid]
        self.next_tick = None
        passes: list[tuple[dict[str, Any], str]] = []
        for body in bodies:
            if not self.reconciler.serves(body["metadata"]["namespace"]):
                continue
            uid = body["metadata"]["uid"]
            tick = PipelineSchedule.from_body(body).pending()
            if mono - self.seen.setdefault(uid, mono) >= cfg.resync_seconds:
                self.seen[uid] = mono
                passes.append((body, "resync"))
            elif tick is not None and tick <= now:
                passes.append((body, "schedule"))
            elif self.reconciler.needs_poll(body):
                passes.append((body, "poll"))
            self.expect(tick, now)
        return passes

    def expect(self, tick: datetime | None, now: datetime) -> None:
        """Note a tick to come: from a listing, or from the status a pass just wrote
        (so a run triggered now does not leave the following tick to the next poll)."""
        if tick is not None and tick > now and (self.next_tick is None or tick < self.next_tick):
            self.next_tick = tick

    def delay(self, now: datetime) -> float:
        """Seconds until the next turn: ``poll_seconds``, or less when a tick comes
        sooner. A tick already come (waiting for an unfinished run) does not count:
        the poll serves it, and the loop never spins."""
        poll = self.reconciler.config.poll_seconds
        if self.next_tick is None:
            return poll
        return max(0.0, min(poll, (self.next_tick - now).total_seconds() + TICK_MARGIN_S))


@dataclass
class Runtime:
    """What the handlers share: one reconciler, the Ready book, the resync task."""

    reconciler: Reconciler
    book: ReadyBook = field(default_factory=ReadyBook)
    resync: asyncio.Task[None] | None = None
    metrics: Any = None

    def run_pass(self, trigger: str, body: dict[str, Any], children: bool = True) -> Outcome | None:
        """One reconcile pass with metrics; kopf retries on a Kubernetes API error."""
        t0 = time.perf_counter()
        result = "error"
        try:
            outcome = self.reconciler.reconcile(body, children)
            result = outcome.ready if outcome else "skipped"
            if outcome is not None:
                self.book.set(body["metadata"]["uid"], outcome.ready)
                for cond in outcome.status["conditions"]:
                    if cond["reason"] in {"AirflowUnreachable", "AirflowRejected", "ApplyFailed"}:
                        ERRORS.labels(cond["reason"]).inc()
                if outcome.triggered:
                    RUNS_TRIGGERED.labels(outcome.triggered).inc()
        except ApiException as err:
            ERRORS.labels("KubernetesAPI").inc()
            raise kopf.TemporaryError(
                f"Kubernetes API: {err.status} {err.reason}", delay=2
            ) from err
        except Exception:
            ERRORS.labels("Unexpected").inc()
            raise
        finally:
            DURATION.observe(time.perf_counter() - t0)
            RECONCILES.labels(trigger, result).inc()
        return outcome

    async def resync_loop(self) -> None:
        """Poll unfinished runs often (light passes), resync everything now and then
        (full passes: children re-applied), and pass each pipeline at its schedule
        ticks (light passes)."""
        plan = Resync(self.reconciler)
        clock = self.reconciler.clock
        gate = asyncio.Semaphore(WORKERS)

        async def one(body: dict[str, Any], trigger: str) -> None:
            async with gate:
                try:
                    outcome = await asyncio.to_thread(
                        self.run_pass, trigger, body, trigger == "resync"
                    )
                except Exception as err:  # one pipeline's failure must not stop the loop
                    log.warning("resync of %s failed: %s", body["metadata"]["name"], err)
                    return
            if outcome is not None:
                plan.expect(outcome.next_tick, clock())

        while True:
            await asyncio.sleep(plan.delay(clock()))
            try:
                bodies = await asyncio.to_thread(self.reconciler.kube.list_pipelines)
            except (ApiException, OSError) as err:
                log.warning("listing pipelines failed: %s", err)
                plan.next_tick = None  # retry after poll_seconds, not at once
                continue
            passes = plan.turn(bodies, time.monotonic(), clock())
            await asyncio.gather(*(one(body, trigger) for body, trigger in passes))


@dataclass
class _Slot:
    """The running operator's runtime (kopf handlers are module-level functions)."""

    runtime: Runtime | None = None


CURRENT = _Slot()


def runtime() -> Runtime:
    if CURRENT.runtime is None:
        raise kopf.TemporaryError("operator not started yet", delay=1)
    return CURRENT.runtime


def start(airflow: Orchestrator | None = None, cfg: OperatorConfig | None = None) -> Runtime:
    """Build the shared runtime (startup handler; tests may pass their own Airflow)."""
    reconciler = Reconciler(
        Kube(api_client()), airflow or airflow_from_env(), cfg or config_from_env()
    )
    CURRENT.runtime = Runtime(reconciler)
    return CURRENT.runtime


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Progress in annotations: status is ours, and its schema has no place for kopf.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    settings.persistence.finalizer = f"{GROUP}/kopf-finalizer"
    settings.execution.max_workers = WORKERS
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30
    rt = CURRENT.runtime or start()
    port = int(_env("OPERATOR_METRICS_PORT", "9090"))
    if port:
        rt.metrics = start_http_server(port)
        log.info("metrics on :%d/metrics", port)
    rt.resync = asyncio.create_task(rt.resync_loop())


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    rt, CURRENT.runtime = CURRENT.runtime, None
    if rt is None:
        return
    if rt.resync:
        rt.resync.cancel()
    if isinstance(rt.metrics, tuple):  # (server, thread)
        rt.metrics[0].shutdown()


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """$KUBECONFIG read at call time (the kubernetes client froze its default at import)."""
    if os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser().exists():
        return kopf.login_with_kubeconfig(**kwargs)
    return kopf.login_with_service_account(**kwargs)


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
def reconcile_pipeline(body: kopf.Body, reason: str, **_: Any) -> None:
    runtime().run_pass(str(reason), copy.deepcopy(dict(body)))


@kopf.on.event(GROUP, VERSION, PLURAL)
def pipeline_event(type: str | None, uid: str, **_: Any) -> None:
    """Drop a deleted pipeline from the metrics (no finalizer needed for that)."""
    rt = CURRENT.runtime
    if type == "DELETED" and rt is not None:
        rt.book.forget(uid)
        rt.reconciler.forget(uid)


def child_changed(kind: str, event_type: str | None, body: kopf.Body) -> None:
    """A child changed (hand edit, deletion, Strimzi's status): reconcile its owner,
    unless the change is our own apply."""
    if event_type is None:  # the initial listing: resume handlers cover the owners
        return
    rt = runtime()
    child = copy.deepcopy(dict(body))
    if event_type != "DELETED" and rt.reconciler.is_own_write(kind, child):
        return
    meta = child["metadata"]
    owner_body = rt.reconciler.kube.get_pipeline(meta["namespace"], meta["labels"][PIPELINE_LABEL])
    if owner_body is None:
        return  # the owner is gone: the garbage collector takes the child
    owner = Owner.from_body(owner_body)
    refs = meta.get("ownerReferences") or []
    if not any(r.get("uid") == owner.uid for r in refs):
        return  # a same-named child of some other object: not ours to fix
    rt.run_pass("drift", owner_body)


@kopf.on.event(TOPIC.group, TOPIC.version, TOPIC.plural, labels={PIPELINE_LABEL: kopf.PRESENT})
def topic_event(type: str | None, body: kopf.Body, **_: Any) -> None:
    child_changed(TOPIC.kind, type, body)


@kopf.on.event(
    CONNECTOR.group, CONNECTOR.version, CONNECTOR.plural, labels={PIPELINE_LABEL: kopf.PRESENT}
)
def connector_event(type: str | None, body: kopf.Body, **_: Any) -> None:
    child_changed(CONNECTOR.kind, type, body)
