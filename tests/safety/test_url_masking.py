"""A custom price API's URL often carries a token (issue 9 §4): it is never written whole to the
log, `status` or the store; scheme, host and port stay readable, path, query and user part are
masked. The bot itself still asks the whole URL."""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from aiohttp import web

from helpers import REPO, db_url, write_config
from pmm.core.urls import mask_url, mask_urls


@pytest.mark.parametrize(("url", "shown"), [
    ("https://prices.example.com/v1/btc?token=abc", "https://prices.example.com/***"),
    ("https://u:pw@prices.example.com:8443/x", "https://***@prices.example.com:8443/***"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
    ("http://h?key=abc", "http://h/***"),
    ("http://h/#abc", "http://h/***"),
    ("http://[::1]:9000/secret", "http://[::1]:9000/***"),
    ("http://h:notaport/secret", "http://***"),
])
def test_mask_url_keeps_scheme_host_and_port_only(url, shown):
    assert mask_url(url) == shown


def test_mask_urls_masks_every_url_of_a_text():
    text = "price_source_custom_api: 'https://a.example/p?k=1'  # or http://b.example/q\nrest_url: http://127.0.0.1:80"
    assert mask_urls(text) == ("price_source_custom_api: 'https://a.example/***'  # or http://b.example/***\n"
                               "rest_url: http://127.0.0.1:80")


class _TokenApi:
    """Answers HTTP 503 (so the bot's reason names the URL) and remembers the paths it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        assert self._ready.wait(20)

    async def _answer(self, request: web.Request) -> web.Response:
        self.asked.append(str(request.rel_url))
        return web.Response(status=503, text="down")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._answer)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()


def test_a_custom_api_token_is_in_no_log_status_or_store(tmp_path: Path) -> None:
    token = "tok" + secrets.token_hex(12)
    api = _TokenApi()
    url = f"http://127.0.0.1:{api.port}/v1/{token}/price?key={token}"
    config = write_config(tmp_path, "sim_custom_api.yml", price_source_custom_api=f"'{url}'",
                          custom_api_update_interval=0.5)
    store = db_url(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pmm.cli", "start", "-c", str(config), "--plain", "--duration", "4",
                          "--db", store], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert any(token in asked for asked in api.asked)  # the bot asked the whole URL
    assert f"custom API http://127.0.0.1:{api.port}/*** answered HTTP 503" in run.stdout  # the log shows it masked
    outputs = [run.stdout, run.stderr]
    for args in (["status"], ["status", "--json"], ["history", "--json"]):
        shown = subprocess.run([sys.executable, "-m", "pmm.cli", *args, "--db", store], cwd=REPO, capture_output=True,
                               text=True, timeout=120)
        assert shown.returncode == 0, shown.stderr
        outputs += [shown.stdout, shown.stderr]
    # Why it did not quote, as `status --json` keeps it: the URL masked.
    assert f"http://127.0.0.1:{api.port}/*** answered HTTP 503" in json.loads(outputs[4])["status"]["last_decision_reason"]
    for out in outputs:
        assert token not in out
    db = sqlite3.connect(tmp_path / "pmm.sqlite")
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                assert not any(token in (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for v in row), table
        config_text = db.execute("SELECT config_text FROM runs").fetchone()[0]
        assert f"http://127.0.0.1:{api.port}/***" in config_text
    finally:
        db.close()
    for path in tmp_path.glob("pmm.sqlite*"):  # every byte, the WAL included
        assert token not in path.read_bytes().decode("latin-1"), path.name
