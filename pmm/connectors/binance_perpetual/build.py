"""Builds the `binance_perpetual` / `binance_perpetual_testnet` connectors from a config.

Live clock and real-time pacing; REST and WebSocket hosts from `constants` unless the config's
`connector.rest_url` / `connector.ws_url` override them (a local venue server, a proxy);
credentials from the environment. The feed and the gateway share one REST client, so they share
one request-weight budget, as they share one IP at the venue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pmm.connectors.base import ConnectorBundle, MarketDataFeed
from pmm.connectors.common.credentials import account_label
from pmm.credentials import resolve
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual import spot_constants as s
from pmm.connectors.binance_perpetual.auth import BinanceAuth
from pmm.connectors.binance_perpetual.feed import BinanceFeed
from pmm.connectors.binance_perpetual.gateway import BinanceGateway
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.core.clock import Clock, LiveClock
from pmm.core.pacer import RealTimePacer
from pmm.errors import ConfigError


def credentials(connector_id: str, env: Mapping[str, str] | None = None,
                ask_password: Callable[[str], str] | None = None) -> tuple[str, str]:
    """(api key, api secret): environment variables first, then the key store of `pmm connect`."""
    creds = resolve(connector_id, environ=env, ask_password=ask_password)
    return creds.api_key, creds.api_secret


def build(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
          env: Mapping[str, str] | None = None, ask_password: Callable[[str], str] | None = None) -> ConnectorBundle:
    """The connector bundle for `config.derivative` (binance_perpetual or binance_perpetual_testnet).

    `restored_state` is accepted for the registry's uniform call and ignored: the venue keeps the
    account. `env` replaces `os.environ` (tests).
    """
    connector_id = str(getattr(config, "derivative", c.CONNECTOR_ID))
    if connector_id not in c.REST_URLS:
        raise ConfigError(f"`derivative` {connector_id} is not a Binance USD-M connector; expected "
                          f"{c.CONNECTOR_ID} or {c.TESTNET_CONNECTOR_ID}.")
    if fast:
        raise ConfigError(f"--fast needs a simulated venue; {connector_id} trades on Binance in real time. "
                          "Drop --fast, or use `derivative: sim_perpetual`.")
    overrides = getattr(config, "connector", None)
    rest_url = getattr(overrides, "rest_url", None) or c.REST_URLS[connector_id]
    ws_url = getattr(overrides, "ws_url", None) or c.WS_URLS[connector_id]
    key, secret = credentials(connector_id, env, ask_password)
    clock = LiveClock()
    rest = BinanceRestClient(rest_url, clock=clock, auth=BinanceAuth(key, secret, clock))
    gateway = BinanceGateway(rest, ws_url=ws_url, clock=clock, connector_id=connector_id)
    return ConnectorBundle(
        connector_id=connector_id,
        feed=BinanceFeed(rest, ws_url=ws_url, clock=clock, connector_id=connector_id),
        gateway=gateway,
        clock=clock,
        pacer=RealTimePacer(clock),
        account=account_label(rest_url, key),
        rate_limit_use=rest.rate_limit_use,
        dead_man_switch=gateway,
        conditional_orders=gateway,
    )


def build_paper(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
                **_: Any) -> ConnectorBundle:
    """`binance_perpetual_paper_trade`: Binance's public market data, the simulated exchange's account.

    Needs no keys: only public endpoints and streams are used.
    """
    from pmm.connectors.paper import build_paper as paper_bundle

    overrides = getattr(config, "connector", None)
    rest_url = getattr(overrides, "rest_url", None) or c.REST_URLS[c.CONNECTOR_ID]
    ws_url = getattr(overrides, "ws_url", None) or c.WS_URLS[c.CONNECTOR_ID]
    clock = LiveClock()
    rest = BinanceRestClient(rest_url, clock=clock)
    feed = BinanceFeed(rest, ws_url=ws_url, clock=clock, connector_id=c.CONNECTOR_ID)
    return paper_bundle("binance_perpetual_paper_trade", feed, config, fast=fast, restored_state=restored_state)


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """A public feed (no keys) of `source_id` for `price_source: external_market`: Binance spot
    (`binance`) or a USD-M connector's market data. Hosts from `connector.price_source_rest_url` /
    `connector.price_source_ws_url` when the config sets them (a local server), else the venue's."""
    overrides = getattr(config, "connector", None)
    rest_url = getattr(overrides, "price_source_rest_url", None)
    ws_url = getattr(overrides, "price_source_ws_url", None)
    if source_id == s.SPOT_SOURCE_ID:
        from pmm.connectors.binance_perpetual.spot_feed import BinanceSpotFeed

        return BinanceSpotFeed(BinanceRestClient(rest_url or s.REST_URL, clock=clock), ws_url=ws_url or s.WS_URL,
                               clock=clock)
    # A paper-trade connector's book is the live venue's.
    venue = c.CONNECTOR_ID if source_id not in c.REST_URLS else source_id
    rest = BinanceRestClient(rest_url or c.REST_URLS[venue], clock=clock)
    return BinanceFeed(rest, ws_url=ws_url or c.WS_URLS[venue], clock=clock, connector_id=source_id)
