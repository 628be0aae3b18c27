"""Engine setup: the default URL, SQLite pragmas, table creation.

SQLite runs in WAL mode so the CLI can read while the bot writes, with `synchronous=NORMAL`: in WAL
mode a committed transaction is in the OS page cache when `COMMIT` returns, so it survives the
process being killed (kill -9); only a power loss or OS crash can drop the last few commits. A
`busy_timeout` makes a briefly locked database wait instead of failing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from pmm.store.schema import Base

ENV_VAR: Final = "PMM_DB"
BUSY_TIMEOUT_MS: Final = 10_000


def default_db_url(cwd: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """`$PMM_DB` if set and non-empty, else `sqlite:///<cwd>/data/pmm.sqlite` (absolute path).

    `cwd` defaults to the process's working directory; `environ` to `os.environ` (tests pass a dict).
    """
    env = os.environ if environ is None else environ
    override = env.get(ENV_VAR, "").strip()
    if override:
        return override
    base = Path.cwd() if cwd is None else Path(cwd)
    return f"sqlite:///{(base / 'data' / 'pmm.sqlite').resolve()}"


def sqlite_file_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for other backends and in-memory databases."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:") or u.query.get("mode") == "memory":
        return None
    return Path(db)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cur.close()


def open_engine(url: str | URL, *, create_tables: bool = True, echo: bool = False) -> Engine:
    """An engine for `url`, with the SQLite pragmas set on every connection and the tables created.

    For a SQLite file URL the parent directory is created first. Creating the tables is idempotent,
    and tolerates another process (the bot and a CLI command) creating them at the same moment.
    """
    path = sqlite_file_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _set_sqlite_pragmas)
    if create_tables:
        _create_tables(engine)
    return engine


def _create_tables(engine: Engine, attempts: int = 3) -> None:
    for attempt in range(attempts):
        try:
            Base.metadata.create_all(engine)
            return
        except OperationalError as exc:
            # A read-only store (`?mode=ro`, a read-only file) written by an older pmm lacks the
            # newer tables (fill_totals): the reads work without them (history folds the fills).
            if "readonly database" in str(exc):
                return
            # Two processes may both see a table missing and both create it; the loser gets
            # "table ... already exists". The next create_all sees it and does nothing.
            if "already exists" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
