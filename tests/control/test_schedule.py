"""spec.source.batch.schedule: the CRD's rule admits only what croniter evaluates."""

from __future__ import annotations

import random
import re

from croniter import croniter  # type: ignore[import-untyped]

from salespipe.control.model import CRON, CRON_PRESETS

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
