"""The same pipeline on a real S3 server (SeaweedFS, credentials enforced)."""

from __future__ import annotations

from pathlib import Path

import pytest

from salespipe.dev.s3 import SeaweedS3
from salespipe.pipeline.run import ingest
from salespipe.pipeline.status import layer_status
from salespipe.settings import Settings
from salespipe.silver.batch import run_silver
from salespipe.storage import ObjectStore
from tests.support import csv_text, line, quarantine, sales

pytestmark = pytest.mark.s3


def test_ingest_and_silver_on_s3_match_the_local_run(
    s3_settings: Settings, settings: Settings, tmp_path: Path
) -> None:
    drop = tmp_path / "drop.csv"
    drop.write_text(csv_text([line(1), line(2, quantity="0"), line(1, sales="99.00")]))
    for target in (s3_settings, settings):
        (landing,) = ingest(target, [drop])
        assert landing.landed
        run_silver(target)
    assert s3_settings.bronze.exists(landing.key)
    assert s3_settings.data_dir.startswith("s3://")
    strip = ("_ingested_at", "_batch_id", "_event_time")
    on_s3 = [{k: v for k, v in r.items() if k not in strip} for r in sales(s3_settings)]
    local = [{k: v for k, v in r.items() if k not in strip} for r in sales(settings)]
    assert on_s3 == local
    assert [r["_reason"] for r in quarantine(s3_settings)] == ["non_positive_quantity"]
    assert layer_status(s3_settings)["silver"]["rows"] == 1


def test_rerunning_on_s3_is_a_no_op(s3_settings: Settings, tmp_path: Path) -> None:
    drop = tmp_path / "drop.csv"
    drop.write_text(csv_text([line(1)]))
    ingest(s3_settings, [drop])
    first = run_silver(s3_settings)
    (again,) = ingest(s3_settings, [drop])
    assert not again.landed
    second = run_silver(s3_settings)
    assert not second.committed
    assert second.version == first.version


def test_wrong_credentials_fail_without_leaking_the_secret(
    s3_env: SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-right-secret-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    store = ObjectStore("s3://lake/denied")
    with pytest.raises(OSError) as caught:
        store.write_bytes("x", b"1")
    assert wrong not in str(caught.value)
    assert s3_env.secret_key not in str(caught.value)
