"""Default database URL, the PMM_DB override, and engine setup."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from pmm.store import default_db_url, open_engine, sqlite_file_path

TABLES = {
    "runs", "orders", "order_events", "fills", "funding_payments", "position_snapshots",
    "status_snapshots", "sim_accounts", "fill_totals",
}  # fmt: skip


def test_default_url_is_under_cwd_data(tmp_path: Path) -> None:
    url = default_db_url(tmp_path, environ={})
    assert url == f"sqlite:///{tmp_path.resolve()}/data/pmm.sqlite"
    assert sqlite_file_path(url) == tmp_path.resolve() / "data" / "pmm.sqlite"


def test_pmm_db_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_db_url(tmp_path, environ={"PMM_DB": "postgresql://u@h/pmm"}) == "postgresql://u@h/pmm"
    assert default_db_url(tmp_path, environ={"PMM_DB": "  "}).endswith("/data/pmm.sqlite")  # blank: ignored
    monkeypatch.setenv("PMM_DB", "sqlite:////elsewhere/x.sqlite")
    assert default_db_url(tmp_path) == "sqlite:////elsewhere/x.sqlite"
    monkeypatch.delenv("PMM_DB")
    monkeypatch.chdir(tmp_path)
    assert default_db_url() == f"sqlite:///{tmp_path.resolve()}/data/pmm.sqlite"


def test_open_engine_creates_directory_and_tables(tmp_path: Path) -> None:
    url = default_db_url(tmp_path / "nested" / "dir", environ={})
    engine = open_engine(url)
    assert (tmp_path / "nested" / "dir" / "data" / "pmm.sqlite").exists()
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()
    open_engine(url).dispose()  # opening again is harmless


def test_in_memory_and_non_sqlite_urls_have_no_file() -> None:
    assert sqlite_file_path("sqlite://") is None
    assert sqlite_file_path("sqlite:///:memory:") is None
    assert sqlite_file_path("postgresql://u@h/pmm") is None
    engine = open_engine("sqlite://")
    assert TABLES <= set(inspect(engine).get_table_names())


def test_the_writer_connection_has_a_bounded_page_cache(tmp_path: Path) -> None:
    from sqlalchemy import text

    from pmm.store.db import WRITER_CACHE_KIB
    from pmm.store.writer import _writer_engine

    url = default_db_url(tmp_path, environ={})
    for engine, expected in ((_writer_engine(url), -WRITER_CACHE_KIB), (open_engine(url), -2000)):
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA cache_size")).scalar_one() == expected  # KiB when negative
        engine.dispose()
