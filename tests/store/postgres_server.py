"""A throwaway PostgreSQL server on 127.0.0.1 for the store's PostgreSQL tests.

`PMM_TEST_POSTGRES_URL` (a database the tests may fill) is used as it is. Otherwise, where the
machine has PostgreSQL's server programs (Debian's `postgresql` package: /usr/lib/postgresql/N/bin),
a new cluster is made in a temporary folder, started on a free loopback port with its socket in
that folder, and removed afterwards. As root the server runs as the `postgres` user (it refuses
root). Without either, `start()` returns None and the tests skip, saying why.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_URL = "PMM_TEST_POSTGRES_URL"


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: cannot start PostgreSQL as another user")
    return [runuser, "-u", "postgres", "--", *argv]


@contextmanager
def postgres_url() -> Iterator[str | None]:
    """A SQLAlchemy URL of an empty database, or None (with no server to be had)."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="pmm-pg-") as tmp:
        data = Path(tmp) / "data"
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres")
        run = lambda *argv: subprocess.run(_as_server_user(list(argv)), check=True, capture_output=True,  # noqa: E731
                                           text=True, timeout=120)
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(Path(tmp) / "log"), "-w", "start")
        try:
            import psycopg

            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
                c.execute("CREATE DATABASE pmm")
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/pmm"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
