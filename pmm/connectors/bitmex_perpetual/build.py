"""Builds `bitmex_perpetual` / `bitmex_perpetual_testnet` (testnet.bitmex.com) and the paper-trade twin.

Live clock and real-time pacing; hosts from `spec` unless `connector.rest_url` / `connector.ws_url`
override them (a local venue server, a proxy). Credentials come from `pmm.credentials.resolve`
(environment first, then the encrypted key store); a BitMEX key is a key and a secret. The feed and
the gateway share one REST client, so they share the venue's limits and the contract sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pmm import credentials
from pmm.connectors.base import ConnectorBundle, MarketDataFeed
from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.auth import BitmexAuth
from pmm.connectors.bitmex_perpetual.feed import BitmexFeed
from pmm.connectors.bitmex_perpetual.gateway import BitmexGateway
from pmm.connectors.bitmex_perpetual.rest import BitmexRestClient
from pmm.core.clock import Clock, LiveClock
from pmm.connectors.common.credentials import account_label
from pmm.core.pacer import RealTimePacer
from pmm.errors import ConfigError


def _urls(config: Any, connector_id: str) -> tuple[str, str]:
    overrides = getattr(config, "connector", None)
    return (getattr(overrides, "rest_url", None) or spec.REST_URLS[connector_id],
            getattr(overrides, "ws_url", None) or spec.WS_URLS[connector_id])


def build(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
          env: Mapping[str, str] | None = None, ask_password: Callable[[str], str] | None = None) -> ConnectorBundle:
    """The bundle for `config.derivative`; `restored_state` is ignored (the venue keeps the account)."""
    connector_id = str(getattr(config, "derivative", spec.CONNECTOR_ID))
    if connector_id not in spec.REST_URLS:
        raise ConfigError(f"`derivative` {connector_id} is not a BitMEX perpetual connector; expected "
                          f"{spec.CONNECTOR_ID} or {spec.TESTNET_CONNECTOR_ID}.")
    if fast:
        raise ConfigError(f"--fast needs a simulated venue; {connector_id} trades on BitMEX in real time. Drop --fast, "
                          "or use `derivative: sim_perpetual`.")
    rest_url, ws_url = _urls(config, connector_id)
    keys = credentials.resolve(connector_id, environ=env, ask_password=ask_password,
                               passphrase_name=spec.SPEC.capabilities.passphrase_name)
    clock = LiveClock()
    auth = BitmexAuth(keys.api_key, keys.api_secret, clock)
    rest = BitmexRestClient(rest_url, clock=clock, auth=auth)
    market = getattr(config, "market", None)
    gateway = BitmexGateway(rest, ws_url=ws_url, clock=clock, connector_id=connector_id,
                         markets=[market] if isinstance(market, str) else [])
    return ConnectorBundle(
        connector_id=connector_id,
        feed=BitmexFeed(rest, ws_url=ws_url, clock=clock, connector_id=connector_id),
        gateway=gateway,
        clock=clock,
        pacer=RealTimePacer(clock),
        account=account_label(rest_url, keys.api_key),
        dead_man_switch=gateway,
        conditional_orders=gateway,
    )


def build_paper(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
                **_: Any) -> ConnectorBundle:
    """`bitmex_perpetual_paper_trade`: BitMEX's public market data, the simulated exchange's account (no keys)."""
    from pmm.connectors.paper import build_paper as paper_bundle

    rest_url, ws_url = _urls(config, spec.CONNECTOR_ID)
    clock = LiveClock()
    feed = BitmexFeed(BitmexRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock,
                      connector_id=spec.CONNECTOR_ID)
    return paper_bundle(spec.PAPER_TRADE_CONNECTOR_ID, feed, config, fast=fast, restored_state=restored_state)


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """A public feed (no keys) of a BitMEX perpetual connector id, or of BitMEX's spot pairs (`bitmex`),
    for `price_source: external_market`.
    Hosts from `connector.price_source_rest_url` / `connector.price_source_ws_url` when the config
    sets them (a local server), else BitMEX's; a paper-trade id reads the live venue's book."""
    overrides = getattr(config, "connector", None)
    venue = source_id if source_id in spec.REST_URLS else spec.CONNECTOR_ID
    rest_url = getattr(overrides, "price_source_rest_url", None) or spec.REST_URLS[venue]
    ws_url = getattr(overrides, "price_source_ws_url", None) or spec.WS_URLS[venue]
    return BitmexFeed(BitmexRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock, connector_id=source_id,
                      spot=source_id == spec.SPOT_FEED_ID)
