"""salespipe writes dbt's log itself: the lines dbt's file logger wrote at the chosen
level, with dbt's secrets scrubbed, rotated as dbt rotates it, and nothing rendered for
the events below the level."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt.adapters.events.types import SQLQuery
from dbt_common.events.base_types import EventLevel, msg_from_base_event
from dbt_common.events.types import Note

from salespipe.gold import GoldResult, dbt_log
from salespipe.gold.dbt_log import EventLog
from salespipe.gold.runner import log_dir
from salespipe.settings import Settings


def _note(text: str, level: EventLevel = EventLevel.INFO) -> object:
    return msg_from_base_event(Note(msg=text), level=level)


def _sql(text: str) -> object:
    return msg_from_base_event(SQLQuery(conn_name="master", sql=text, node_info={}))


def test_lines_at_or_above_the_level_are_written_in_dbts_format(tmp_path: Path) -> None:
    with EventLog(tmp_path, "info") as log:
        log(_note("1 of 2 START sql table model gold.fact_sales"))
        log(_sql("select 'a statement' as sql"))
        log(_note("a warning", EventLevel.WARN))

    lines = (tmp_path / "dbt.log").read_text().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("[info ] [MainThread]: 1 of 2 START sql table model gold.fact_sales")
    assert "[warn ] [MainThread]: a warning" in lines[1]


def test_debug_writes_each_statement(tmp_path: Path) -> None:
    with EventLog(tmp_path, "debug") as log:
        log(_sql("select 'a statement' as sql"))

    assert "select 'a statement' as sql" in (tmp_path / "dbt.log").read_text()


def test_dbts_secrets_are_scrubbed_from_the_log_and_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", "hunter2-passphrase")
    with EventLog(tmp_path, "info") as log:
        log(_note("could not decrypt with hunter2-passphrase", EventLevel.ERROR))

    assert "hunter2" not in (tmp_path / "dbt.log").read_text()
    printed = capsys.readouterr().out
    assert "could not decrypt with *****" in printed
    assert "hunter2" not in printed


def test_errors_reach_the_console_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EventLog(tmp_path, "info", echo_errors=False) as log:
        log(_note("Database Error in model fact_sales", EventLevel.ERROR))

    assert capsys.readouterr().out == ""
    assert "Database Error in model fact_sales" in (tmp_path / "dbt.log").read_text()


def test_none_writes_no_file(tmp_path: Path) -> None:
    with EventLog(tmp_path, "none") as log:
        log(_note("anything"))

    assert not (tmp_path / "dbt.log").exists()


def test_an_unknown_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="verbose"):
        EventLog(tmp_path, "verbose")


def test_a_full_log_rotates_when_the_next_invocation_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbt_log, "MAX_BYTES", 100)
    (tmp_path / "dbt.log").write_text("x" * 150)
    (tmp_path / "dbt.log.1").write_text("older")

    with EventLog(tmp_path, "info") as log:
        log(_note("the next invocation"))

    assert (tmp_path / "dbt.log.1").read_text() == "x" * 150
    assert (tmp_path / "dbt.log.2").read_text() == "older"
    assert "the next invocation" in (tmp_path / "dbt.log").read_text()


def test_a_build_logs_its_nodes_at_info_level(built: tuple[Settings, GoldResult]) -> None:
    settings, _ = built
    text = (log_dir(settings) / "dbt.log").read_text()

    assert "START sql incremental model" in text
    assert "Completed successfully" in text
    assert "[debug]" not in text
