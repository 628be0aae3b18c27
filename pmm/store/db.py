"""Engine setup: the default URL, SQLite pragmas, table creation.

SQLite runs in WAL mode so the CLI can read while the bot writes, with `synchronous=NORMAL`: in WAL
mode a committed transaction is in the OS page cache when `COMMIT` returns, so it survives the
process being killed (kill -9); only a power loss or OS crash can drop the last few commits. A
`busy_timeout` makes a briefly locked database wait instead of failing.

SQLite keeps a page cache per connection (default about 2 MB) that fills as the database grows and
is never given back. The store writer's connection lives as long as the bot and mostly appends
near the ends of its tables and indexes, so it opens its engine with `cache_kib=WRITER_CACHE_KIB`
(over a simulated week its thread's memory grew 0.7 MB instead of 2.8 MB; its throughput did
not change, benchmark 7).

Whatever keeps a store from opening (a bad URL, a missing driver, a server that does not answer, a
file that cannot be opened or written) is raised as a `pmm.errors` class here (`db_errors.py`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from pmm.store import db_errors
from pmm.store.schema import Base, Run

ENV_VAR: Final = "PMM_DB"
BUSY_TIMEOUT_MS: Final = 10_000
WRITER_CACHE_KIB: Final = 256  # SQLite page cache of the store writer's connection
CONNECT_TIMEOUT_S: Final = 10  # a PostgreSQL server that does not answer fails instead of hanging


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


def parse_db_url(url: str | URL) -> URL:
    """`url` parsed; ConfigError when it is not a database URL."""
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except ArgumentError:
        raise db_errors.not_a_url(url) from None


def sqlite_file_path(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for other backends and in-memory databases."""
    u = parse_db_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    db = u.database
    if not db or db == ":memory:" or db.startswith("file:") or u.query.get("mode") == "memory":
        return None
    return Path(db)


def _sqlite_pragmas(cache_kib: int | None) -> Callable[[Any, Any], None]:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cur = dbapi_connection.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if cache_kib is not None:
                cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")  # negative: KiB, not pages
        finally:
            cur.close()

    return set_pragmas


def open_engine(url: str | URL, *, create_tables: bool = True, echo: bool = False,
                cache_kib: int | None = None, writable: bool = False) -> Engine:
    """An engine for `url`, with the SQLite pragmas set on every connection and the tables created.

    For a SQLite file URL the parent directory is created first. Creating the tables is idempotent,
    and tolerates another process (the bot and a CLI command) creating them at the same moment.
    `cache_kib` bounds each SQLite connection's page cache (SQLite's default is about 2 MB).
    `writable`: check now that the store takes writes (`pmm start`), not at the first record.
    A store that cannot be used raises ConfigError, a server that does not answer StoreUnavailable.
    """
    u = parse_db_url(url)
    path = sqlite_file_path(u)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise db_errors.folder_not_creatable(path, exc) from None
    try:
        engine = create_engine(u, echo=echo, **_connect_args(u))
    except NoSuchModuleError:
        raise db_errors.unknown_backend(u) from None
    except ImportError as exc:  # the dialect is known, its DBAPI module is not installed
        raise db_errors.missing_driver(u, exc) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(cache_kib))
    try:
        if create_tables:
            _create_tables(engine)
        else:
            engine.connect().close()
    except DBAPIError as exc:
        engine.dispose()
        raise db_errors.cannot_open(u, path, exc) from None
    if writable:
        _check_writable(engine, u, path)
    return engine


def _connect_args(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return {}


def _check_writable(engine: Engine, url: URL, path: Path | None) -> None:
    """A write that changes nothing, rolled back: fails on a read-only file, folder or database user."""
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(Run.__table__.delete().where(Run.run_id == ""))
            transaction.rollback()
    except DBAPIError as exc:
        engine.dispose()
        raise db_errors.read_only(url, path, exc) from None


def _create_tables(engine: Engine, attempts: int = 5) -> None:
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
            # "table ... already exists". The next create_all sees it and does nothing. A reader
            # whose snapshot went stale while another process created the tables gets "database is
            # locked" at once (SQLite does not wait there: waiting could deadlock): try again too.
            retry = "already exists" in str(exc) or "database is locked" in str(exc)
            if not retry or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
