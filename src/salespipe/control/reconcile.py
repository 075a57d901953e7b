"""The level-based reconcile of one SalesPipeline: make the children and Airflow match
the spec, then write what was observed into status.

Every pass does the same thing whatever triggered it (create, update, resume, a
child's change, the resync timer, a schedule tick): server-side apply the desired
children (a no-op when nothing drifted), prune children no longer wanted, trigger
the generation's DAG run if it was not triggered yet, poll the run's state, trigger
the most recent due schedule tick once no run is in flight, and patch status. So a
missed event, a restart or a hand edit is repaired by the next pass.

Secrets: the spec only names Secrets, the operator never reads them, and nothing
from Airflow's configuration reaches status, events or logs.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kubernetes import client  # type: ignore[import-untyped]
from kubernetes.client.rest import ApiException  # type: ignore[import-untyped]

from salespipe.control.airflow import (
    Orchestrator,
    dag_run_id,
    layer_figures,
    run_conf,
    scheduled_run_id,
)
from salespipe.control.children import (
    CONNECTOR,
    PIPELINE_LABEL,
    TOPIC,
    ChildKind,
    Owner,
    render_children,
)
from salespipe.control.crd import GROUP, PLURAL, VERSION
from salespipe.control.model import (
    CONDITION_TYPES,
    ConditionType,
    LastRun,
    LayerFigures,
    RunTrigger,
    SalesPipelineSpec,
    ScheduleStatus,
)
from salespipe.control.schedule import (
    PipelineSchedule,
    format_time,
    parse_time,
    problem,
    utc_now,
)
from salespipe.control.schema import from_api, to_api
from salespipe.orchestration.airflow_api import TERMINAL, AirflowAPIError, AirflowUnavailable

log = logging.getLogger("salespipe.control")
FIELD_MANAGER = "salespipe-operator"
COMPONENT = "salespipe-operator"


def run_reason(state: str) -> str:
    """A condition/event reason for an Airflow run state: RunQueued, RunSucceeded, ..."""
    return "Run" + {"success": "Succeeded", "failed": "Failed"}.get(state, state.capitalize())


def now() -> str:
    return format_time(utc_now())


@dataclass(frozen=True)
class OperatorConfig:
    """What the operator needs beyond the pipelines themselves."""

    trigger_dag: str = "sales_batch"
    """The DAG a spec change triggers (with the pipeline's run conf)."""
    dag_ids: tuple[str, ...] = ("sales_batch", "sales_streaming", "sales_analytics")
    """DAGs that must be unpaused for a pipeline to run."""
    resync_seconds: float = 60.0
    """Every pipeline is reconciled at least this often (drift, missed events)."""
    poll_seconds: float = 5.0
    """How often pipelines with a queued or running DAG run are polled."""
    figures_task: str = "silver"
    """The task of the triggered DAG whose XCom holds the Silver figures."""
    namespaces: tuple[str, ...] = ()
    """Namespace globs the operator serves; every namespace when empty."""
    await_strimzi: bool = True
    """Child conditions wait for Strimzi's own Ready; False where no Strimzi operator
    runs (the local API server), so an applied child counts as ready."""


@dataclass(frozen=True)
class Outcome:
    """What one pass observed (also what metrics and events are derived from)."""

    ready: str
    reason: str
    status: dict[str, Any]
    events: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, reason, message) of the transitions this pass made."""
    triggered: RunTrigger | None = None
    """What the run this pass triggered was for, if it triggered one."""

    @property
    def next_tick(self) -> datetime | None:
        """The pipeline's next schedule tick as this pass left it."""
        text = (self.status.get("schedule") or {}).get("nextTick")
        return parse_time(text) if text else None


CHILD_CONDITIONS: dict[str, tuple[ConditionType, ChildKind]] = {
    TOPIC.kind: ("TopicReady", TOPIC),
    CONNECTOR.kind: ("ConnectorReady", CONNECTOR),
}


@dataclass
class _Pass:
    """The state of one reconcile pass: inputs, the conditions found, events to post."""

    owner: Owner
    spec: SalesPipelineSpec
    generation: int
    old: dict[str, Any]
    schedule: PipelineSchedule
    """The schedule as status left it; advanced when this pass handles a tick."""
    now: datetime
    """The reconciler's clock at the start of the pass: what is due is due as of this."""
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    layers: LayerFigures | None = None
    full: bool = True
    """Apply the children (False: a light pass that only asks Airflow)."""
    triggered: RunTrigger | None = None
    """What the run this pass triggered was for (spec or schedule), if any."""

    def carry_child_conditions(self) -> bool:
        """Keep the child conditions of the last full pass, if it saw this generation."""
        old = {c["type"]: c for c in self.old.get("conditions") or []}
        kinds = [cond for cond, _ in CHILD_CONDITIONS.values()]
        if self.old.get("observedGeneration") != self.generation or not all(
            k in old for k in kinds
        ):
            return False
        for kind in kinds:
            self.conditions[kind] = {
                k: v for k, v in old[kind].items() if k != "lastTransitionTime"
            }
        return True

    def set(self, kind: ConditionType, ok: bool | None, reason: str, message: str) -> None:
        self.conditions[kind] = self.condition(kind, ok, reason, message)

    def condition(
        self, kind: ConditionType, ok: bool | None, reason: str, message: str
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "status": "Unknown" if ok is None else str(ok),
            "reason": reason,
            "message": message[:1024],
            "observedGeneration": self.generation,
        }

    def ready(self) -> dict[str, Any]:
        """Ready sums up the others; suspension wins over everything."""
        if self.spec.suspend:
            message = "spec.suspend is true: connector paused, no DAG runs"
            return self.condition("Ready", False, "Suspended", message)
        failing = [c for c in self.conditions.values() if c["status"] != "True"]
        if not failing:
            return self.condition("Ready", True, "Reconciled", "children applied, run triggered")
        first = failing[0]
        ok = False if first["status"] == "False" else None
        return self.condition("Ready", ok, first["reason"], f"{first['type']}: {first['message']}")


class Kube:
    """The API calls the reconciler makes (one ``kubernetes`` ApiClient, thread-safe)."""

    def __init__(self, api: client.ApiClient) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)

    def get_pipeline(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return out

    def list_pipelines(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.custom.list_cluster_custom_object(
            GROUP, VERSION, PLURAL
        )["items"]
        return items

    def list_children(self, kind: ChildKind, owner: Owner) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.custom.list_namespaced_custom_object(
            kind.group,
            kind.version,
            owner.namespace,
            kind.plural,
            label_selector=f"{PIPELINE_LABEL}={owner.name}",
        )["items"]
        return [c for c in items if _owned_by(c, owner)]

    def apply(self, kind: ChildKind, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply with force: the operator owns these fields; a hand edit of
        one of them is taken back (drift correction)."""
        meta = manifest["metadata"]
        resp = self.custom.patch_namespaced_custom_object(
            kind.group,
            kind.version,
            meta["namespace"],
            kind.plural,
            meta["name"],
            manifest,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
            _preload_content=False,  # kubernetes 36 returns None for apply answers
        )
        out: dict[str, Any] = json.loads(resp.data)
        return out

    def delete(self, kind: ChildKind, namespace: str, name: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(
                kind.group, kind.version, namespace, kind.plural, name
            )
        except ApiException as err:
            if err.status != 404:
                raise

    def patch_status(self, owner: Owner, status: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            owner.namespace,
            PLURAL,
            owner.name,
            {"status": status},
            _preload_content=False,  # the answer is not needed: skip decoding it
        )

    def event(self, body: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """A core/v1 Event on the pipeline (plain JSON: the client's model classes cost
        more CPU than the call itself when hundreds of pipelines start at once)."""
        meta = body["metadata"]
        stamp = now()
        event = {
            "metadata": {"generateName": f"{meta['name']}."},
            "involvedObject": {
                "apiVersion": body["apiVersion"],
                "kind": body["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message[:1024],
            "type": kind,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
        }
        self.core.create_namespaced_event(meta["namespace"], event, _preload_content=False)


def _owned_by(child: dict[str, Any], owner: Owner) -> bool:
    refs = child["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == owner.uid for r in refs)


def _ready_of(child: dict[str, Any] | None) -> tuple[bool | None, str, str]:
    """Strimzi's own verdict on a child: its Ready condition for the current generation."""
    if child is None:
        return False, "Missing", "not created"
    status = child.get("status") or {}
    if status.get("observedGeneration") != child["metadata"].get("generation"):
        return None, "AwaitingStrimzi", "Strimzi has not reconciled the latest generation"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            ok = cond.get("status") == "True"
            return (
                ok,
                cond.get("reason") or ("Ready" if ok else "NotReady"),
                cond.get("message", ""),
            )
    return None, "AwaitingStrimzi", "no Ready condition from Strimzi yet"


@dataclass
class Reconciler:
    """Reconciles pipelines one pass at a time; safe to call from several threads
    (passes over the same pipeline are serialised)."""

    kube: Kube
    airflow: Orchestrator
    config: OperatorConfig = field(default_factory=OperatorConfig)
    clock: Callable[[], datetime] = utc_now
    """What time it is for the schedule (tests pass a fixed one)."""
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _unpaused_at: float | None = field(default=None, repr=False)
    applied: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)
    """resourceVersion of each child as our last apply left it: events carrying that
    version are our own writes, not drift."""

    def lock(self, uid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(uid, threading.Lock())

    def forget(self, uid: str) -> None:
        with self._guard:
            self._locks.pop(uid, None)

    def reconcile(self, body: dict[str, Any], children: bool = True) -> Outcome | None:
        """One pass over the pipeline ``body`` names; None when it is gone or going.

        The pass re-reads the pipeline once it holds the pipeline's lock: the body an
        event carried may predate the status the previous pass wrote (its lastRun), and
        acting on it would trigger and announce the same run twice.

        ``children=False`` is the light pass of run polling: Airflow only, the child
        conditions carried over (unless the spec moved on since they were computed),
        so hundreds of pipelines with running DAGs do not re-apply their children
        every few seconds."""
        owner = Owner.from_body(body)
        with self.lock(owner.uid):
            fresh = self.kube.get_pipeline(owner.namespace, owner.name)
            if fresh is None or fresh["metadata"]["uid"] != owner.uid:
                return None
            if fresh["metadata"].get("deletionTimestamp"):
                return None  # children go with it (ownerReferences); nothing to keep alive
            return self._reconcile(fresh, owner, children)

    def _reconcile(self, body: dict[str, Any], owner: Owner, children: bool) -> Outcome:
        p = _Pass(
            owner=owner,
            spec=from_api(SalesPipelineSpec, body["spec"]),
            generation=int(body["metadata"]["generation"]),
            old=body.get("status") or {},
            schedule=PipelineSchedule.from_body(body),
            now=self.clock(),
            full=children,
        )
        if p.old.get("layers"):
            p.layers = from_api(LayerFigures, p.old["layers"])
        self._children(p)
        last_run = self._orchestrate(p)
        ready = p.ready()
        p.conditions["Ready"] = ready
        merged = _with_transition_times(p.old.get("conditions") or [], p.conditions.values())
        status: dict[str, Any] = {"observedGeneration": p.generation, "conditions": merged}
        if last_run is not None:
            status["lastRun"] = to_api(last_run)
        if p.layers is not None:
            status["layers"] = to_api(p.layers)
        status["schedule"] = to_api(_schedule_status(p.schedule))
        before = {c["type"]: c for c in p.old.get("conditions") or []}.get("Ready", {})
        if (before.get("status"), before.get("reason")) != (ready["status"], ready["reason"]):
            kind = "Normal" if ready["status"] == "True" or p.spec.suspend else "Warning"
            p.events.append((kind, ready["reason"], ready["message"]))
        if status != {k: p.old.get(k) for k in status}:
            self.kube.patch_status(owner, _merge_patch(status, p.old))
        for kind, reason, message in p.events:
            self.kube.event(body, kind, reason, message)
            log.info(
                "%s: %s",
                reason,
                message,
                extra={"namespace": owner.namespace, "pipeline": owner.name, "reason": reason},
            )
        return Outcome(ready["status"], ready["reason"], status, p.events, p.triggered)

    def _children(self, p: _Pass) -> None:
        if not p.full and p.carry_child_conditions():
            return
        if p.spec.source.streaming is None:
            for cond, kind in CHILD_CONDITIONS.values():
                self._prune(kind, p, keep=set())
                p.set(cond, True, "NotConfigured", "batch-only pipeline: no Kafka children")
            return
        for manifest in render_children(p.owner, p.spec):
            cond, kind = CHILD_CONDITIONS[manifest["kind"]]
            name = manifest["metadata"]["name"]
            try:
                existing = {
                    c["metadata"]["name"]: c for c in self.kube.list_children(kind, p.owner)
                }
                live = self.kube.apply(kind, manifest)
                self._note_applied(kind, live)
                before = existing.get(name)
                if before is None:
                    p.events.append(("Normal", "ChildCreated", f"{kind.kind} {name} created"))
                elif before["metadata"]["resourceVersion"] != live["metadata"]["resourceVersion"]:
                    p.events.append(
                        ("Normal", "ChildUpdated", f"{kind.kind} {name} brought back to spec")
                    )
                self._prune(kind, p, keep={name}, listed=existing.values())
            except ApiException as err:
                p.set(cond, False, "ApplyFailed", f"{kind.kind} {name}: {err.status} {err.reason}")
                continue
            if self.config.await_strimzi:
                p.set(cond, *_ready_of(live))
            else:
                p.set(cond, True, "Applied", f"{kind.kind} {name} applied")

    def _note_applied(self, kind: ChildKind, live: dict[str, Any]) -> None:
        meta = live["metadata"]
        self.applied[(kind.kind, meta["namespace"], meta["name"])] = meta["resourceVersion"]

    def is_own_write(self, kind: str, child: dict[str, Any]) -> bool:
        """True when the child's state is what our last apply left, or when no one but
        the operator ever wrote it (the watch event may beat our apply's answer)."""
        meta = child["metadata"]
        key = (kind, meta["namespace"], meta["name"])
        managers = {m.get("manager") for m in meta.get("managedFields") or []}
        return managers == {FIELD_MANAGER} or self.applied.get(key) == meta.get("resourceVersion")

    def _prune(
        self,
        kind: ChildKind,
        p: _Pass,
        keep: set[str],
        listed: Iterable[dict[str, Any]] | None = None,
    ) -> None:
        children = self.kube.list_children(kind, p.owner) if listed is None else listed
        for child in children:
            name = child["metadata"]["name"]
            if name not in keep:
                self.kube.delete(kind, p.owner.namespace, name)
                p.events.append(("Normal", "ChildDeleted", f"{kind.kind} {name} no longer wanted"))

    def _orchestrate(self, p: _Pass) -> LastRun | None:
        """Trigger the generation's run once; poll the latest run until it finishes; once
        none is in flight, trigger the most recent due schedule tick.

        A tick due when a spec change's run is triggered is covered by that run (it
        takes in everything the tick's would), so a resume or an update never starts
        two runs at once. A tick that comes while the previous run is unfinished
        waits for it, as in Airflow with max_active_runs=1, and then only the most
        recent due tick runs: runs slower than the schedule never pile up."""
        last = from_api(LastRun, p.old["lastRun"]) if p.old.get("lastRun") else None
        tick = p.schedule.due(p.now)
        try:
            if not p.spec.suspend and (last is None or last.generation != p.generation):
                cause = f"spec generation {p.generation}"
                if tick is not None:
                    cause += f", covering schedule tick {format_time(tick)}"
                last = self._trigger(p, "spec", dag_run_id(p.owner, p.generation), cause, tick)
            else:
                if last is not None and last.state not in TERMINAL:
                    last = self._poll(p, last)
                if tick is not None and (last is None or last.state in TERMINAL):
                    cause = f"schedule tick {format_time(tick)} ({p.schedule.cron}, UTC)"
                    run_id = scheduled_run_id(p.owner, tick)
                    last = self._trigger(p, "schedule", run_id, cause, tick)
        except AirflowUnavailable as err:
            p.set("OrchestrationReady", False, "AirflowUnreachable", str(err))
            return last
        except AirflowAPIError as err:
            p.set("OrchestrationReady", False, "AirflowRejected", str(err))
            return last
        if p.spec.suspend:
            p.set("OrchestrationReady", False, "Suspended", "no DAG runs while suspended")
        elif (unscheduled := _schedule_problem(p.schedule)) is not None:
            p.set("OrchestrationReady", False, "InvalidSchedule", unscheduled)
        elif last is not None and last.state == "failed":
            p.set("OrchestrationReady", False, "RunFailed", f"DAG run {last.dag_run_id} failed")
        else:
            state = last.state if last else "unknown"
            p.set("OrchestrationReady", True, run_reason(state), f"DAG run {state}")
        return last

    def _trigger(
        self, p: _Pass, trigger: RunTrigger, run_id: str, cause: str, tick: datetime | None
    ) -> LastRun:
        """Trigger ``run_id`` with the pipeline's conf (adopting it if Airflow has it);
        ``tick``, if any, counts as handled once Airflow has the run."""
        dag = self.config.trigger_dag
        self._ensure_unpaused()
        state = self.airflow.trigger(dag, run_id, run_conf(p.owner, p.spec)).state
        p.events.append(
            ("Normal", "RunTriggered", f"DAG run {run_id} of {dag} for {cause}: {state}")
        )
        if tick is not None:
            p.schedule = p.schedule.handled(tick)
        p.triggered = trigger
        stamp = now()
        return LastRun(
            dag_id=dag,
            dag_run_id=run_id,
            generation=p.generation,
            state=state,
            trigger=trigger,
            triggered_at=stamp,
            updated_at=stamp,
        )

    def _poll(self, p: _Pass, last: LastRun) -> LastRun:
        """The run's state now; its Silver figures once it succeeded. Status changes only
        when the state does."""
        state = self.airflow.run(last.dag_id, last.dag_run_id).state
        if state != last.state:
            kind = "Warning" if state == "failed" else "Normal"
            p.events.append((kind, run_reason(state), f"DAG run {last.dag_run_id}: {state}"))
            last = replace(last, state=state, updated_at=now())
        if state == "success":
            value = self.airflow.xcom(last.dag_id, last.dag_run_id, self.config.figures_task)
            p.layers = layer_figures(value) or p.layers
        return last

    def _ensure_unpaused(self) -> None:
        """Unpause the DAGs before a trigger, at most once per resync interval: they are
        shared by every pipeline, so 200 new pipelines need not cost 600 PATCHes."""
        clock = time.monotonic()
        if self._unpaused_at is None or clock - self._unpaused_at >= self.config.resync_seconds:
            self.airflow.ensure_unpaused(self.config.dag_ids)
            self._unpaused_at = clock

    def serves(self, namespace: str) -> bool:
        patterns = self.config.namespaces
        return not patterns or any(fnmatch.fnmatchcase(namespace, p) for p in patterns)

    def needs_poll(self, body: dict[str, Any]) -> bool:
        """A pipeline whose run has not finished, or whose Airflow side is not ready for
        a reason other than suspension (e.g. Airflow was unreachable): poll it soon."""
        status = body.get("status") or {}
        run = status.get("lastRun") or {}
        if run and run.get("state") not in TERMINAL:
            return True
        for cond in status.get("conditions") or []:
            if cond["type"] == "OrchestrationReady":
                return bool(cond["status"] != "True" and cond["reason"] not in SETTLED)
        return False


SETTLED = frozenset({"Suspended", "InvalidSchedule"})
"""OrchestrationReady reasons that only a spec change ends: polling would not help."""


def _schedule_status(schedule: PipelineSchedule) -> ScheduleStatus:
    pending = schedule.pending()
    return ScheduleStatus(
        last_tick=format_time(schedule.last_tick) if schedule.last_tick else None,
        next_tick=format_time(pending) if pending else None,
    )


def _schedule_problem(schedule: PipelineSchedule) -> str | None:
    """Why an active pipeline's schedule has no next tick (a date that never comes)."""
    if schedule.pending() is not None:
        return None
    return problem(schedule.cron, schedule.boundary) or f"schedule {schedule.cron!r} has no tick"


def _merge_patch(status: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """``status`` as a JSON merge patch over ``old``: a field dropped from a section
    (nextTick while suspended) is sent as null, since a merge patch keeps what it
    does not mention."""
    patch = dict(status)
    for key, section in status.items():
        before = old.get(key)
        if isinstance(section, dict) and isinstance(before, dict):
            patch[key] = {**dict.fromkeys(before.keys() - section.keys()), **section}
    return patch


def _with_transition_times(
    old: list[dict[str, Any]], new: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Conditions in a fixed order, each keeping its lastTransitionTime unless its status
    changed (API conventions)."""
    before = {c["type"]: c for c in old}
    stamp = now()
    by_type = {}
    for cond in new:
        prior = before.get(cond["type"])
        same = prior is not None and prior.get("status") == cond["status"]
        by_type[cond["type"]] = {
            **cond,
            "lastTransitionTime": prior["lastTransitionTime"] if same and prior else stamp,
        }
    return [by_type[t] for t in CONDITION_TYPES if t in by_type]
