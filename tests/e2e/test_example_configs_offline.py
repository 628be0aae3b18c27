"""The seed's three example configs (conservative, aggressive multi-level Hedge, and quoting a perpetual
around a spot price source) and `configs/external_price.yml`, each run unchanged but for the endpoint
overrides the README shows, against local venue servers fed a fixed book: the first quotes that reach
the venue are the ones the reference rules (hummingbot_pmm.md §2.1-§2.2) give for that book.

The expected quotes are computed here from the YAML (read with a plain YAML parser, not pmm's config)
and from the fed book: reference = the mid of the price source's book, level i's bid =
ref x (1 - bid_spread/100 - i x order_level_spread/100), ask = ref x (1 + ask_spread/100 + ...),
size = order_amount + i x order_level_amount. The books are chosen so those prices fall on the tick
(no rounding question) and so the other rules (price band, taker filter, margin) let every quote
through; the test checks both. Quoting around the right book is what matters: each source book's
mid differs from the maker book's, so quotes around the maker's own mid would fail.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import CONFIGS, db_url
from pmm.app import StartOptions, run_bot
from pmm.config import load_config
from pmm.core.model import Side
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket
from venue_servers import credentials_env, running_server

D = Decimal
Book = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], str]  # bids, asks, tick

# Per config: the book of the maker market (on `derivative`) and, when the price source is another
# connector, the book of the source market (on `price_source_derivative`).
BOOKS: dict[str, dict[str, Book]] = {
    "conservative.yml": {
        "maker": ((("64990.0", "2"), ("64980.0", "3")), (("65010.0", "2"), ("65020.0", "3")), "0.1"),
    },
    "aggressive_hedge.yml": {
        "maker": ((("2999.50", "40"), ("2999.00", "60")), (("3000.50", "40"), ("3001.00", "60")), "0.01"),
    },
    "spot_price_source.yml": {  # the perpetual's mid is 149.85, the spot mid 150.00
        "maker": ((("149.80", "500"), ("149.70", "800")), (("149.90", "500"), ("150.00", "800")), "0.01"),
        "source": ((("149.99", "900"), ("149.98", "900")), (("150.01", "900"), ("150.02", "900")), "0.01"),
    },
    "external_price.yml": {  # Bybit's own mid is 64955.0, Binance's 65000.0
        "maker": ((("64950.0", "3"), ("64940.0", "3")), (("64960.0", "3"), ("64970.0", "3")), "0.1"),
        "source": ((("64999.9", "5"),), (("65000.1", "5"),), "0.1"),
    },
}


def _market(name: str, book: Book) -> SimSettings:
    bids, asks, tick = book
    static = StaticMarket(bids=tuple((D(p), D(s)) for p, s in bids), asks=tuple((D(p), D(s)) for p, s in asks))
    return SimSettings(markets=(SimMarketSettings(name, static, tick_size=D(tick), step_size=D("0.001"),
                                                  min_size=D("0.001")),))


def _mid(book: Book) -> Decimal:
    bids, asks, _ = book
    return (D(bids[0][0]) + D(asks[0][0])) / 2


def expected_quotes(settings: dict[str, Any], ref: Decimal) -> set[tuple[str, Decimal, Decimal]]:
    """(side, price, amount) of the first quotes around `ref`, by the reference rules, from the
    YAML's values (before rounding to the tick: the test books need none)."""
    assert settings.get("price_type", "mid_price") == "mid_price" and not settings.get("order_override")

    def pct(key: str, default: str) -> Decimal:
        value = settings.get(key)
        return D(str(value if value is not None else default)) / 100

    levels = int(settings.get("order_levels") or 1)
    level_spread = pct("order_level_spread", "1")
    level_amount = D(str(settings.get("order_level_amount") or 0))
    quotes = set()
    for i in range(levels):
        amount = D(str(settings["order_amount"])) + i * level_amount
        for side, price in (("buy", ref * (1 - pct("bid_spread", "0") - i * level_spread)),
                            ("sell", ref * (1 + pct("ask_spread", "0") + i * level_spread))):
            quotes.add((side, price.normalize(), amount.normalize()))
    return quotes


def _check_the_other_rules_let_them_through(settings: dict[str, Any], quotes: set, ref: Decimal,
                                             maker: Book) -> None:
    best_bid, best_ask = D(maker[0][0][0]), D(maker[1][0][0])
    for side, price, _ in quotes:
        assert price < best_ask if side == "buy" else price > best_bid  # no taker: the filter drops none
    ceiling, floor = D(str(settings.get("price_ceiling", -1))), D(str(settings.get("price_floor", -1)))
    assert ceiling == -1 or ref < ceiling  # inside the price band: both sides quote
    assert floor == -1 or ref > floor


def _local_config(tmp_path: Path, name: str, maker: Any, source: Any | None) -> Path:
    """The example config as shipped, plus the `connector:` section the README shows."""
    lines = ["connector:", f"  rest_url: {maker.rest_url}", f"  ws_url: {maker.ws_url}"]
    if source is not None:
        lines += [f"  price_source_rest_url: {source.rest_url}", f"  price_source_ws_url: {source.ws_url}"]
    path = tmp_path / name
    path.write_text((CONFIGS / name).read_text() + "\n" + "\n".join(lines) + "\n")
    return path


async def _first_quotes(config: Any, url: str, maker: Any, count: int) -> list[Any]:
    engines: list[Any] = []
    task = asyncio.create_task(run_bot(config, StartOptions(db_url=url), on_engine=engines.append,
                                       install_signal_handlers=False))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    try:
        while True:
            if task.done():
                task.result()  # raises what stopped the bot
                raise AssertionError("the bot stopped before quoting")
            orders = await asyncio.to_thread(maker.call, lambda: maker.exchange.open_orders())
            if len(orders) >= count or loop.time() > deadline:
                return orders
            await asyncio.sleep(0.2)
    finally:
        if engines:
            engines[0].request_stop("test done")
        await asyncio.wait_for(task, 60)


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_an_example_config_quotes_offline_where_the_reference_rules_say(name, tmp_path, monkeypatch):
    settings = yaml.safe_load((CONFIGS / name).read_text())
    books = BOOKS[name]
    derivative, source_id = settings["derivative"], settings.get("price_source_derivative")
    external = settings.get("price_source") == "external_market" and source_id != derivative
    source_book = books["source"] if external else books["maker"]
    quotes = expected_quotes(settings, _mid(source_book))
    tick = D(books["maker"][2])
    assert all(price % tick == 0 for _, price, _ in quotes), f"the test book must put {quotes} on the tick {tick}"
    _check_the_other_rules_let_them_through(settings, quotes, _mid(source_book), books["maker"])
    if external:  # the test only proves something if the maker's own mid gives other prices
        assert expected_quotes(settings, _mid(books["maker"])) != quotes
    for key, value in credentials_env(derivative).items():
        monkeypatch.setenv(key, value)
    with running_server(derivative, _market(settings["market"], books["maker"])) as maker:
        source_server = (running_server(source_id, _market(settings["price_source_market"], books["source"]))
                         if external else None)
        source = source_server.__enter__() if source_server is not None else None
        try:
            config = load_config(_local_config(tmp_path, name, maker, source))
            assert config.warnings == ()
            orders = asyncio.run(_first_quotes(config, db_url(tmp_path), maker, len(quotes)))
        finally:
            if source_server is not None:
                source_server.__exit__(None, None, None)
    placed = {("buy" if o.side is Side.BUY else "sell", o.price.normalize(), o.amount.normalize()) for o in orders}
    assert placed == quotes
