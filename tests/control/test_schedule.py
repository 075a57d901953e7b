"""spec.source.batch.schedule: the CRD's rule admits only what croniter evaluates, and
the tick math (which tick is due at a given time), with the clock passed in."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from croniter import croniter  # type: ignore[import-untyped]

from salespipe.control.model import CRON, CRON_PRESETS
from salespipe.control.schedule import PipelineSchedule, parse_time, problem

ADMITTED = re.compile(CRON)
FIELD_MAX = (59, 23, 31, 12, 7)
NAMES = ("jan", "Feb", "DEC", "sun", "Mon", "SAT", "abc")


def _random_schedule(rng: random.Random) -> str:
    """Five fields of lists of ``*``, values, ranges and steps, with values a little
    outside each field's range and names in the wrong field: most are invalid."""

    def value(top: int) -> str:
        if rng.random() < 0.15:
            return rng.choice(NAMES)
        n = rng.randint(0, top + 2)
        return f"0{n}" if n < 10 and rng.random() < 0.1 else str(n)

    def item(top: int) -> str:
        kind = rng.random()
        text = "*" if kind < 0.3 else value(top) if kind < 0.7 else f"{value(top)}-{value(top)}"
        return text + (f"/{rng.randint(0, 100)}" if rng.random() < 0.3 else "")

    return " ".join(
        ",".join(item(top) for _ in range(rng.choice((1, 1, 2, 3)))) for top in FIELD_MAX
    )


def test_every_schedule_the_rule_admits_is_one_croniter_reads() -> None:
    """A seeded random walk over the cron grammar: whatever the regex admits, croniter
    must parse (the operator's evaluation can then only fail on dates that never
    come, which it reports); and the walk must admit enough to mean something."""
    rng = random.Random(20260101)
    admitted = rejected_valid = 0
    for _ in range(5000):
        schedule = _random_schedule(rng)
        valid = croniter.is_valid(schedule)
        if ADMITTED.fullmatch(schedule):
            admitted += 1
            assert valid, schedule
        elif valid:
            rejected_valid += 1
    assert admitted > 400
    assert rejected_valid < admitted  # steps of /100: stricter than croniter, on purpose


def test_presets_are_exactly_those_with_cron_ticks() -> None:
    for preset in CRON_PRESETS:
        assert ADMITTED.fullmatch(f"@{preset}")
        assert croniter.is_valid(f"@{preset}")
    for other in ("@once", "@reboot", "@every", "@HOURLY", "@hourly "):
        assert not ADMITTED.fullmatch(other), other
    assert not croniter.is_valid("@once") and not croniter.is_valid("@reboot")


def at(text: str) -> datetime:
    return parse_time(text)


CREATED = at("2026-03-02T12:00:30Z")  # a Monday


def quarter_hourly(last_tick: str | None = None, suspended: bool = False) -> PipelineSchedule:
    return PipelineSchedule(
        "*/15 * * * *", CREATED, at(last_tick) if last_tick else None, suspended
    )


def test_nothing_is_due_before_the_first_tick_after_creation() -> None:
    sched = quarter_hourly()
    assert sched.pending() == at("2026-03-02T12:15:00Z")
    assert sched.due(at("2026-03-02T12:14:59Z")) is None


def test_a_tick_is_due_from_its_minute_on() -> None:
    sched = quarter_hourly()
    assert sched.due(at("2026-03-02T12:15:00Z")) == at("2026-03-02T12:15:00Z")
    assert sched.due(at("2026-03-02T12:15:42Z")) == at("2026-03-02T12:15:00Z")


def test_only_the_most_recent_due_tick_runs_never_a_backlog() -> None:
    """catchup=False: an operator down for two days runs one tick, the latest."""
    sched = quarter_hourly()
    assert sched.due(at("2026-03-02T12:47:10Z")) == at("2026-03-02T12:45:00Z")
    assert sched.due(at("2026-03-04T09:05:00Z")) == at("2026-03-04T09:00:00Z")


def test_a_handled_tick_is_not_due_again() -> None:
    sched = quarter_hourly().handled(at("2026-03-02T12:45:00Z"))
    assert sched.pending() == at("2026-03-02T13:00:00Z")
    assert sched.due(at("2026-03-02T12:59:59Z")) is None
    assert sched.due(at("2026-03-02T13:00:00Z")) == at("2026-03-02T13:00:00Z")


def test_ticks_before_creation_never_run() -> None:
    """A tick at the very second of creation counts as before it (strictly after)."""
    on_the_tick = PipelineSchedule("*/15 * * * *", at("2026-03-02T12:15:00Z"))
    assert on_the_tick.due(at("2026-03-02T12:20:00Z")) is None
    # A recorded tick older than the object (a re-created pipeline's status never
    # carries over, but a hand-written one might) does not reopen earlier ticks.
    stale = quarter_hourly("2026-03-01T00:00:00Z")
    assert stale.boundary == CREATED
    assert stale.due(at("2026-03-02T12:10:00Z")) is None


def test_a_suspended_pipeline_has_no_pending_or_due_tick() -> None:
    sched = quarter_hourly(suspended=True)
    assert sched.pending() is None
    assert sched.due(at("2026-03-02T18:00:00Z")) is None


@pytest.mark.parametrize(
    ("preset", "first"),
    [
        ("@hourly", "2026-03-02T13:00:00Z"),
        ("@daily", "2026-03-03T00:00:00Z"),
        ("@midnight", "2026-03-03T00:00:00Z"),
        ("@weekly", "2026-03-08T00:00:00Z"),  # Sunday
        ("@monthly", "2026-04-01T00:00:00Z"),
        ("@yearly", "2027-01-01T00:00:00Z"),
        ("@annually", "2027-01-01T00:00:00Z"),
    ],
)
def test_presets(preset: str, first: str) -> None:
    sched = PipelineSchedule(preset, CREATED)
    assert sched.pending() == at(first)
    assert sched.due(at(first)) == at(first)


def test_cron_is_evaluated_in_utc() -> None:
    """A clock reading in another zone names the same instant: ticks stay in UTC."""
    sched = PipelineSchedule("0 9 * * *", CREATED)
    assert sched.pending() == at("2026-03-03T09:00:00Z")
    berlin = timezone(timedelta(hours=1))
    assert sched.due(datetime(2026, 3, 3, 10, 0, 5, tzinfo=berlin)) == at("2026-03-03T09:00:00Z")
    assert sched.due(datetime(2026, 3, 3, 9, 59, tzinfo=berlin)) is None


def test_day_of_month_or_day_of_week_as_in_vixie_cron() -> None:
    sched = PipelineSchedule("0 0 13 * fri", CREATED)
    assert sched.pending() == at("2026-03-06T00:00:00Z")  # the first Friday, not the 13th


def test_a_schedule_without_ticks_has_nothing_pending_and_says_why() -> None:
    never = PipelineSchedule("0 0 30 2 *", CREATED)
    assert never.pending() is None and never.due(at("2030-01-01T00:00:00Z")) is None
    assert "never fires" in (problem(never.cron, CREATED) or "")
    legacy = PipelineSchedule("60 * * * *", CREATED)  # stored before the rule was tightened
    assert legacy.pending() is None
    assert "60 * * * *" in (problem(legacy.cron, CREATED) or "")
    assert problem("@hourly", CREATED) is None


def test_schedule_is_read_from_the_object_as_served() -> None:
    body = {
        "metadata": {"creationTimestamp": "2026-03-02T12:00:30Z"},
        "spec": {"source": {"batch": {"schedule": "*/15 * * * *"}}, "suspend": False},
        "status": {"schedule": {"lastTick": "2026-03-02T12:45:00Z"}},
    }
    assert PipelineSchedule.from_body(body) == quarter_hourly("2026-03-02T12:45:00Z")
    bare = {"metadata": {"creationTimestamp": "2026-03-02T12:00:30Z"}, "spec": {}}
    assert PipelineSchedule.from_body(bare) == PipelineSchedule("@hourly", CREATED)
