"""Why a store could not be opened, as a `pmm.errors` class the user can act on.

The store setup (`db.py`) is the one place that turns SQLAlchemy's and the drivers' failures into
pmm's errors; the CLI only prints them. By what the user must do:

- ConfigError (exit 2): the URL is not a URL, names an unknown kind of database or a driver that
  is not installed, points at a file that cannot be opened (a folder, a folder that cannot be
  created), at a store `pmm start` cannot write (read-only), or the server refused the login or
  the database name;
- StoreUnavailable (exit 4): the database server did not answer (not running, wrong host or port,
  no network).

Messages never show a password of the URL.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import URL

from pmm.errors import ConfigError, StoreUnavailable

_WHERE = "--db (or $PMM_DB)"
_EXAMPLES = "sqlite:///data/pmm.sqlite or postgresql+psycopg://user:password@host:5432/pmm"
# PostgreSQL SQLSTATE classes that mean "fix the URL" rather than "the server is away":
# 28 invalid authorization (user, password), 3D invalid catalog name (no such database).
_REFUSED_SQLSTATE_CLASSES = ("28", "3D")
# The pip package that brings a driver module SQLAlchemy could not import.
_DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient",
                    "pymysql": "pymysql", "asyncpg": "asyncpg", "pg8000": "pg8000"}


def shown(url: str | URL) -> str:
    """The URL as messages show it: its password (and, unparsed, its user part) masked."""
    if isinstance(url, URL):
        if url.get_backend_name() == "sqlite":  # as typed: SQLAlchemy would escape `file:` URIs
            query = "&".join(f"{k}={v}" for k, v in url.query.items())
            return f"{url.drivername}:///{url.database or ''}" + (f"?{query}" if query else "")
        return url.render_as_string(hide_password=True)
    return re.sub(r"//[^/@]*@", "//***@", url)


def not_a_url(url: str) -> ConfigError:
    return ConfigError(f"The database URL {shown(url)!r} given with {_WHERE} is not a URL SQLAlchemy can read. "
                       f"Use one like {_EXAMPLES}.")


def unknown_backend(url: URL) -> ConfigError:
    return ConfigError(f"The database URL {shown(url)} names `{url.drivername}`, a kind of database SQLAlchemy "
                       f"does not know. Fix {_WHERE}: use one like {_EXAMPLES}.")


def missing_driver(url: URL, exc: ImportError) -> ConfigError:
    module = (exc.name or str(exc)).split(".")[0]
    package = _DRIVER_PACKAGES.get(module, module)
    return ConfigError(f"The database URL {shown(url)} needs the Python module `{module}` (its database driver), "
                       f"which is not installed. Install it into pmm's environment (`pip install {package}`; "
                       f"for PostgreSQL `pip install -e \".[postgres]\"` brings psycopg and URLs "
                       f"postgresql+psycopg://...), or use a sqlite:/// URL.")


def folder_not_creatable(path: Path, exc: OSError) -> ConfigError:
    in_the_way = " (a file of that name is in the way)" if isinstance(exc, FileExistsError | NotADirectoryError) \
        else ""
    return ConfigError(f"Cannot create the folder {path.parent} for the database {path}: "
                       f"{exc.strerror or exc}{in_the_way}. Run pmm from a folder you can write, or give {_WHERE} "
                       f"a path in one.")


def cannot_open(url: URL, path: Path | None, exc: Exception) -> ConfigError | StoreUnavailable:
    """The first connection failed. SQLite: the file cannot be used. A server: down, or refused us."""
    reason = _reason(exc)
    if path is not None or url.get_backend_name() == "sqlite":
        if path is not None and path.is_dir():
            return ConfigError(f"Cannot open the SQLite database {path}: it is a folder, not a file. Give {_WHERE} "
                               f"a file path, e.g. sqlite:///{path / 'pmm.sqlite'}.")
        return ConfigError(f"Cannot open the SQLite database {path or shown(url)}: {reason}. Check that it is a pmm "
                           f"store (an SQLite file) in a folder you can write, or give {_WHERE} another path.")
    sqlstate = _sqlstate(exc)
    if sqlstate is not None and sqlstate[:2] in _REFUSED_SQLSTATE_CLASSES:
        return ConfigError(f"The database server of {shown(url)} refused the connection: {reason}. Check the "
                           f"user, password and database name in {_WHERE}.")
    where = f"{url.host or 'localhost'}:{url.port or 'default port'}"
    return StoreUnavailable(f"Cannot reach the database server at {where} ({shown(url)}): {reason}. Check that "
                            f"the server is running and reachable and that {_WHERE} names its host and port, then "
                            f"run the command again.")


def read_only(url: URL, path: Path | None, exc: Exception) -> ConfigError:
    what = path if path is not None else shown(url)
    return ConfigError(f"The database {what} cannot be written ({_reason(exc)}): `pmm start` records every order, "
                       f"fill and status there. Make it (and its folder) writable, or give {_WHERE} a writable "
                       f"store. Reading it with `pmm status` or `pmm history` works as it is.")


def _sqlstate(exc: Exception) -> str | None:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)  # psycopg 3 / psycopg2
    return str(code) if code else None


def _reason(exc: Exception) -> str:
    """The driver's own words, first line only (SQLAlchemy appends SQL and a documentation link)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0].strip().rstrip(".") if text else type(orig).__name__
