"""A run conf names its pipeline and layers; typos and bad values are errors."""

from __future__ import annotations

import pytest

from salespipe.orchestration.conf import ConfError, RunConf


def test_a_conf_round_trips_through_a_mapping() -> None:
    conf = RunConf(pipeline="emea", data_dir="/lake", silver_uri="s3://lake/silver")
    assert RunConf.from_mapping(conf.to_dict()) == conf
    assert conf.settings().silver.uri() == "s3://lake/silver"
    assert conf.settings().bronze.uri() == "/lake/bronze"


def test_the_line_key_travels_as_a_list_and_configures_silver() -> None:
    conf = RunConf(pipeline="p", line_key=("order_id", "product_id", "row_id"))
    assert conf.to_dict()["line_key"] == ["order_id", "product_id", "row_id"]
    again = RunConf.from_mapping(conf.to_dict())
    assert again == conf
    assert again.settings().line_key == ("order_id", "product_id", "row_id")


def test_the_retention_travels_and_none_leaves_the_default() -> None:
    conf = RunConf(pipeline="p", retention_days=30)
    assert RunConf.from_mapping(conf.to_dict()).retention_days == 30
    assert RunConf.from_mapping({"pipeline": "p", "retention_days": None}).retention_days is None


def test_empty_values_take_the_defaults() -> None:
    assert RunConf.from_mapping({"pipeline": "p", "bronze_uri": "", "spark": None}) == RunConf(
        pipeline="p"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pipelin": "p"}, "unknown run conf keys \\['pipelin'\\]"),
        ({"pipeline": "Bad_Name"}, "lowercase DNS label"),
        ({"gold_target": "bigquery"}, "expected duckdb or snowflake"),
        ({"mode": "yarn"}, "expected local or kubernetes"),
        ({"line_key": ["order_id"]}, "line_key: order_id alone is not a line key"),
        ({"line_key": ["order_id", "colour"]}, "unknown fields: colour"),
        ({"max_quarantine_ratio": 1.5}, "between 0 and 1"),
        ({"retention_days": 0}, "retention_days 0: expected a whole number of days"),
        ({"gold_schema": "gold; drop"}, "gold_schema 'gold; drop': expected an identifier"),
        ({"gold_database": "1db"}, "gold_database '1db': expected an identifier"),
        ({"gold_secret": "Creds!"}, "gold_secret 'Creds!': expected a Secret name"),
        ({"retention_days": 7.5}, "retention_days 7.5: expected a whole number of days"),
        ({"retention_days": "7"}, "retention_days '7': expected a whole number of days"),
    ],
)
def test_bad_confs_are_refused_naming_the_field(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfError, match=message):
        RunConf.from_mapping(values)


def test_the_gold_target_configures_the_gold_layer() -> None:
    settings = RunConf(gold_target="snowflake", gold_database="SALES").settings()
    assert (settings.gold_target, settings.gold_database, settings.gold_schema) == (
        "snowflake",
        "SALES",
        "gold",
    )
