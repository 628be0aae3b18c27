"""Several bots on one store: different markets of one account, and different accounts, run side by
side; `pmm status` lists each; a duplicate is refused; `pmm stop --run` stops each through the store."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from helpers import db_url, write_config
from pmm.app import StartOptions, run_bot
from pmm.cli import app
from pmm.config import load_config
from pmm.errors import ConfigError
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket
from venue_servers import credentials_env, running_server

VENUE = "binance_perpetual"


def _two_markets() -> SimSettings:
    btc = SyntheticMarket(start_price=Decimal("65000"), book_interval_s=0.25)
    eth = SyntheticMarket(start_price=Decimal("3000"), book_interval_s=0.25)
    return SimSettings(markets=(SimMarketSettings("BTC-USDT", btc), SimMarketSettings("ETH-USDT", eth,
                                                                                       tick_size=Decimal("0.01"))),
                       seed=9)


def _config(folder, **overrides):
    folder.mkdir()
    return load_config(write_config(folder, order_refresh_time=30, **overrides))


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_bots_of_several_markets_and_accounts_share_a_store(tmp_path, monkeypatch):
    for key, value in credentials_env(VENUE).items():
        monkeypatch.setenv(key, value)
    url = db_url(tmp_path)
    with running_server(VENUE, _two_markets()) as server:
        endpoints = f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}"
        configs = {
            "binance BTC": _config(tmp_path / "btc", derivative=VENUE, connector=endpoints),
            "binance ETH": _config(tmp_path / "eth", derivative=VENUE, market="ETH-USDT", order_amount=0.1,
                                   connector=endpoints),
            "simulated BTC": _config(tmp_path / "sim"),  # another account: the simulated one
        }
        outcome: dict[str, object] = {}

        async def main() -> None:
            bots = [asyncio.create_task(run_bot(c, StartOptions(db_url=url), install_signal_handlers=False))
                    for c in configs.values()]
            status: dict = {}
            for _ in range(600):
                out = await asyncio.to_thread(_cli, "status", "--json", "--db", url)
                status = json.loads(out.output)
                if len(status["runs"]) == 3 and all(r["status"].get("quoting") for r in status["runs"]):
                    break
                await asyncio.sleep(0.1)
            outcome["status"] = status
            outcome["table"] = (await asyncio.to_thread(_cli, "status", "--db", url)).output
            # The same account and market again: refused, and the others are not disturbed.
            with pytest.raises(ConfigError, match="Another bot is running on binance_perpetual BTC-USDT") as refused:
                again = _config(tmp_path / "again", derivative=VENUE, connector=endpoints)
                await run_bot(again, StartOptions(db_url=url, duration_s=5), install_signal_handlers=False)
            outcome["refused"] = str(refused.value)
            stops = []
            for run in status["runs"]:
                stops.append(await asyncio.to_thread(_cli, "stop", "--run", run["run"]["run_id"][:8], "--db", url,
                                                     "--timeout", "60"))
            outcome["stops"] = stops
            outcome["results"] = await asyncio.gather(*bots)

        asyncio.run(main())
        open_at_venue = server.call(lambda: server.exchange.open_orders())

    runs = outcome["status"]["runs"]
    assert sorted((r["run"]["connector"], r["run"]["market"], r["run"]["state"]) for r in runs) == [
        ("binance_perpetual", "BTC-USDT", "running"), ("binance_perpetual", "ETH-USDT", "running"),
        ("sim_perpetual", "BTC-USDT", "running")]
    assert all(r["status"]["quoting"] for r in runs), runs
    assert outcome["table"].count(": RUNNING, started") == 3
    btc = next(r["run"]["run_id"] for r in runs if r["run"]["connector"] == VENUE and r["run"]["market"] == "BTC-USDT")
    assert f"run {btc[:8]} on BTC-USDT" in outcome["refused"]
    for stop in outcome["stops"]:
        assert stop.exit_code == 0 and "stopped: asked by `pmm stop`." in stop.output, stop.output
    assert sorted(r.reason for r in outcome["results"]) == ["asked by `pmm stop`"] * 3
    assert open_at_venue == []
    final = json.loads(_cli("status", "--json", "--db", url).output)
    assert final["runs"][0]["run"]["state"] == "stopped"
