"""A pipeline's batch schedule (``spec.source.batch.schedule``): which cron tick is due.

Cron is evaluated by croniter (as Airflow does) in UTC, at minute granularity, with
Vixie cron's day rule (when both day-of-month and day-of-week are restricted, a day
matching either fires). The rule is Airflow's ``catchup=False``: the ticks that count
are those strictly after a boundary, the later of the pipeline's creation and the
last tick the operator handled, and of those only the most recent one that has
come is run. A pipeline that was suspended, or an operator that was down, for a day
gets one run, not a backlog; a tick before the pipeline existed is never run.

Apart from ``utc_now``, every function takes the time it reasons about as an
argument: the reconciler and the resync loop pass their clock's reading (``utc_now``
unless injected), the tests a fixed one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import CroniterBadDateError, CroniterError, croniter  # type: ignore[import-untyped]

from salespipe.control.model import DEFAULT_SCHEDULE

MINUTE = timedelta(minutes=1)


def utc_now() -> datetime:
    """The wall clock the operator reads by default (the reconciler's ``clock``)."""
    return datetime.now(UTC)


def parse_time(text: str) -> datetime:
    """An API timestamp (RFC 3339, ``Z``) as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def format_time(moment: datetime) -> str:
    """An aware datetime as the API's timestamp, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=4096)
def next_tick(schedule: str, after: datetime) -> datetime | None:
    """The first tick strictly after ``after``; None when there is none (see ``problem``).

    Cached: the resync loop asks this for every pipeline on every turn with the same
    boundary until the pipeline's next tick is handled, and croniter takes ~0.3 ms."""
    try:
        tick: datetime = croniter(schedule, after.astimezone(UTC)).get_next(datetime)
    except CroniterError:
        return None
    return tick


def latest_tick(schedule: str, now: datetime) -> datetime | None:
    """The most recent tick at or before ``now`` (ticks fall on whole minutes, so the
    one strictly before the start of the next minute)."""
    start = now.astimezone(UTC).replace(second=0, microsecond=0) + MINUTE
    try:
        tick: datetime = croniter(schedule, start).get_prev(datetime)
    except CroniterError:
        return None
    return tick


@dataclass(frozen=True)
class PipelineSchedule:
    """One pipeline's schedule and how far the operator got with it (its status)."""

    cron: str
    created: datetime
    last_tick: datetime | None = None
    """The latest tick handled (run, or covered by a spec change's run)."""
    suspended: bool = False

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PipelineSchedule:
        """From a SalesPipeline as the API serves it (also a listed one: the resync
        loop reads hundreds of these per turn without building the typed models)."""
        spec = body.get("spec") or {}
        last = ((body.get("status") or {}).get("schedule") or {}).get("lastTick")
        return cls(
            cron=((spec.get("source") or {}).get("batch") or {}).get("schedule", DEFAULT_SCHEDULE),
            created=parse_time(body["metadata"]["creationTimestamp"]),
            last_tick=parse_time(last) if last else None,
            suspended=bool(spec.get("suspend")),
        )

    @property
    def boundary(self) -> datetime:
        """Ticks at or before this are settled: before the pipeline existed, or handled."""
        last = self.last_tick
        return self.created if last is None or last < self.created else last

    def pending(self) -> datetime | None:
        """The first tick not handled yet, come or not: what the operator acts on next.
        None while suspended (no runs), or when the schedule has no ticks."""
        return None if self.suspended else next_tick(self.cron, self.boundary)

    def due(self, now: datetime) -> datetime | None:
        """The tick to run at ``now``: the most recent pending one that has come."""
        first = self.pending()
        if first is None or first > now:
            return None
        return latest_tick(self.cron, now)

    def handled(self, tick: datetime) -> PipelineSchedule:
        return replace(self, last_tick=tick)


def problem(schedule: str, after: datetime) -> str | None:
    """Why ``schedule`` has no tick after ``after``, for status; None when it has one.

    The CRD's rule admits only what croniter parses, so what is left is a date that
    never comes (``0 0 30 2 *``) or an object stored before the rule was tightened."""
    try:
        croniter(schedule, after.astimezone(UTC)).get_next(datetime)
    except CroniterBadDateError:
        return f"schedule {schedule!r} never fires: no such date"
    except CroniterError as err:
        return f"schedule {schedule!r} is not a cron expression croniter reads: {err}"
    return None
