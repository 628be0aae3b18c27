"""Builds the `bybit_perpetual` / `bybit_perpetual_testnet` connectors from a config.

Live clock and real-time pacing; REST and WebSocket hosts from `constants` unless the config's
`connector.rest_url` / `connector.ws_url` override them (a local venue server, a proxy);
credentials from `pmm.credentials.resolve` (environment variables first, then the encrypted key
store written by `pmm connect`). The feed and the gateway share one REST client, so they share the
venue's rate limits, as they share one account and one IP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pmm import credentials
from pmm.connectors.base import ConnectorBundle, MarketDataFeed
from pmm.connectors.common.credentials import account_label
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual import spot_constants as s
from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.feed import BybitFeed
from pmm.connectors.bybit_perpetual.gateway import BybitGateway
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.core.clock import Clock, LiveClock
from pmm.core.pacer import RealTimePacer
from pmm.errors import ConfigError


def build(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
          env: Mapping[str, str] | None = None, ask_password: Callable[[str], str] | None = None) -> ConnectorBundle:
    """The connector bundle for `config.derivative` (bybit_perpetual or bybit_perpetual_testnet).

    `restored_state` is accepted for the registry's uniform call and ignored: the venue keeps the
    account. `env` replaces `os.environ` (tests); `ask_password` unlocks the key store on a terminal.
    Missing or unusable credentials raise `AuthError` (exit 3) here, before anything connects.
    """
    connector_id = str(getattr(config, "derivative", c.CONNECTOR_ID))
    if connector_id not in c.REST_URLS:
        raise ConfigError(f"`derivative` {connector_id} is not a Bybit perpetual connector; expected "
                          f"{c.CONNECTOR_ID} or {c.TESTNET_CONNECTOR_ID}.")
    if fast:
        raise ConfigError(f"--fast needs a simulated venue; {connector_id} trades on Bybit in real time. "
                          "Drop --fast, or use `derivative: sim_perpetual`.")
    overrides = getattr(config, "connector", None)
    rest_url = getattr(overrides, "rest_url", None) or c.REST_URLS[connector_id]
    ws_url = getattr(overrides, "ws_url", None) or c.WS_URLS[connector_id]
    keys = credentials.resolve(connector_id, environ=env, ask_password=ask_password)
    clock = LiveClock()
    rest = BybitRestClient(rest_url, clock=clock, auth=BybitAuth(keys.api_key, keys.api_secret, clock))
    market = getattr(config, "market", None)
    markets = [market] if isinstance(market, str) else []
    gateway = BybitGateway(rest, ws_url=ws_url, clock=clock, connector_id=connector_id, markets=markets)
    return ConnectorBundle(
        connector_id=connector_id,
        feed=BybitFeed(rest, ws_url=ws_url, clock=clock, connector_id=connector_id),
        gateway=gateway,
        clock=clock,
        pacer=RealTimePacer(clock),
        account=account_label(rest_url, keys.api_key),
        rate_limit_use=rest.limits.use,
        dead_man_switch=gateway,
        conditional_orders=gateway,
    )


def build_paper(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
                **_: Any) -> ConnectorBundle:
    """`bybit_perpetual_paper_trade`: Bybit's public market data, the simulated exchange's account.

    Needs no keys: only public endpoints and streams are used.
    """
    from pmm.connectors.paper import build_paper as paper_bundle

    overrides = getattr(config, "connector", None)
    rest_url = getattr(overrides, "rest_url", None) or c.REST_URLS[c.CONNECTOR_ID]
    ws_url = getattr(overrides, "ws_url", None) or c.WS_URLS[c.CONNECTOR_ID]
    clock = LiveClock()
    feed = BybitFeed(BybitRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock, connector_id=c.CONNECTOR_ID)
    return paper_bundle("bybit_perpetual_paper_trade", feed, config, fast=fast, restored_state=restored_state)


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """A public feed (no keys) of `source_id` for `price_source: external_market`: Bybit spot
    (`bybit`) or a linear connector's market data. Hosts from `connector.price_source_rest_url` /
    `connector.price_source_ws_url` when the config sets them (a local server), else the venue's."""
    overrides = getattr(config, "connector", None)
    rest_url = getattr(overrides, "price_source_rest_url", None)
    ws_url = getattr(overrides, "price_source_ws_url", None)
    if source_id == s.SPOT_SOURCE_ID:
        from pmm.connectors.bybit_perpetual.spot_feed import BybitSpotFeed

        return BybitSpotFeed(BybitRestClient(rest_url or s.REST_URL, clock=clock), ws_url=ws_url or s.WS_URL,
                             clock=clock)
    # A paper-trade connector's book is the live venue's.
    venue = c.CONNECTOR_ID if source_id not in c.REST_URLS else source_id
    rest = BybitRestClient(rest_url or c.REST_URLS[venue], clock=clock)
    return BybitFeed(rest, ws_url=ws_url or c.WS_URLS[venue], clock=clock, connector_id=source_id)
