"""Opening a store that cannot work raises a `pmm.errors` class saying what to do (issue 9 §4): the
store setup translates, the CLI only prints. ConfigError (exit 2): fix --db; StoreUnavailable
(exit 4): the server did not answer. Never a password of the URL in the message."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

from pmm.errors import ConfigError, StoreUnavailable
from pmm.store.db import open_engine, sqlite_file_path


def test_a_string_that_is_not_a_url():
    for bad in ("not a url", "::", "sqlite//x"):
        with pytest.raises(ConfigError, match="not a URL"):
            open_engine(bad)
        with pytest.raises(ConfigError):
            sqlite_file_path(bad)


def test_an_unknown_kind_of_database():
    with pytest.raises(ConfigError, match="nosuch.*does not know"):
        open_engine("nosuch://h/db")


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="the MySQL driver is installed here")
def test_a_driver_that_is_not_installed():
    with pytest.raises(ConfigError, match=r"`MySQLdb`.*pip install mysqlclient") as caught:
        open_engine("mysql://pmm:pw-in-url@127.0.0.1/pmm")
    assert "pw-in-url" not in str(caught.value)


def test_a_postgresql_server_that_does_not_answer():
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}") as caught:
        open_engine(f"postgresql+psycopg://pmm:pw-in-url@127.0.0.1:{port}/pmm")
    assert caught.value.exit_code == 4 and "pw-in-url" not in str(caught.value)


def test_sqlite_paths_that_cannot_be_a_store(tmp_path: Path):
    with pytest.raises(ConfigError, match="is a folder"):
        open_engine(f"sqlite:///{tmp_path}")
    (tmp_path / "in-the-way").write_text("a file")
    with pytest.raises(ConfigError, match="in the way"):
        open_engine(f"sqlite:///{tmp_path / 'in-the-way' / 'pmm.sqlite'}")
    (tmp_path / "notes.txt").write_text("not a database, but long enough to be read as one " * 40)
    with pytest.raises(ConfigError, match="not a database"):
        open_engine(f"sqlite:///{tmp_path / 'notes.txt'}")


def test_a_read_only_store_opens_for_reading_but_not_for_writing(tmp_path: Path):
    open_engine(f"sqlite:///{tmp_path / 'pmm.sqlite'}").dispose()
    read_only = f"sqlite:///file:{tmp_path / 'pmm.sqlite'}?mode=ro&uri=true"  # refused even to root
    open_engine(read_only).dispose()
    with pytest.raises(ConfigError, match="cannot be written"):
        open_engine(read_only, writable=True)
    open_engine(f"sqlite:///{tmp_path / 'pmm.sqlite'}", writable=True).dispose()
