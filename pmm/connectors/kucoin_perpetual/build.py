"""Builds `kucoin_perpetual` and its paper-trade twin, and KuCoin price feeds.

Live clock and real-time pacing; the REST host from `spec` unless `connector.rest_url` overrides
it (a local venue server, a proxy). WebSocket endpoints come from KuCoin's bullet answers;
`connector.ws_url`, when set, replaces the endpoint they name. Credentials come from
`pmm.credentials.resolve` (environment first, then the encrypted key store); KuCoin keys carry a
passphrase (`pmm connect kucoin_perpetual` asks for it, or `PMM_KUCOIN_PERPETUAL_API_PASSPHRASE`).
KuCoin has no futures testnet (`spec.NO_TESTNET`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pmm import credentials
from pmm.connectors.base import ConnectorBundle, MarketDataFeed
from pmm.connectors.common.credentials import account_label
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.auth import KucoinAuth
from pmm.connectors.kucoin_perpetual.feed import KucoinFeed
from pmm.connectors.kucoin_perpetual.gateway import KucoinGateway
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient
from pmm.core.clock import Clock, LiveClock
from pmm.core.pacer import RealTimePacer
from pmm.errors import AuthError, ConfigError


def _urls(config: Any) -> tuple[str, str | None]:
    overrides = getattr(config, "connector", None)
    return getattr(overrides, "rest_url", None) or spec.REST_URL, getattr(overrides, "ws_url", None)


def passphrase_of(connector_id: str, keys: credentials.Credentials) -> str:
    if not keys.passphrase:
        raise AuthError(f"The {connector_id} API key has no passphrase: KuCoin keys need one. Store it with the key "
                        f"(`pmm connect {connector_id}` asks for it), or set "
                        f"{credentials.passphrase_env_name(connector_id)}.")
    return keys.passphrase


def build(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
          env: Mapping[str, str] | None = None, ask_password: Callable[[str], str] | None = None) -> ConnectorBundle:
    """The bundle for `config.derivative`; `restored_state` is ignored (the venue keeps the account)."""
    connector_id = str(getattr(config, "derivative", spec.CONNECTOR_ID))
    if connector_id != spec.CONNECTOR_ID:
        raise ConfigError(f"`derivative` {connector_id} is not a KuCoin perpetual connector; expected "
                          f"{spec.CONNECTOR_ID}. {spec.NO_TESTNET}")
    if fast:
        raise ConfigError(f"--fast needs a simulated venue; {connector_id} trades on KuCoin in real time. Drop --fast, "
                          "or use `derivative: sim_perpetual`.")
    rest_url, ws_url = _urls(config)
    keys = credentials.resolve(connector_id, environ=env, ask_password=ask_password,
                               passphrase_name=spec.SPEC.capabilities.passphrase_name)
    clock = LiveClock()
    auth = KucoinAuth(keys.api_key, keys.api_secret, passphrase_of(connector_id, keys), clock)
    rest = KucoinRestClient(rest_url, clock=clock, auth=auth)
    market = getattr(config, "market", None)
    gateway = KucoinGateway(rest, ws_url=ws_url, clock=clock, connector_id=connector_id,
                            markets=[market] if isinstance(market, str) else [])
    return ConnectorBundle(
        connector_id=connector_id,
        feed=KucoinFeed(rest, ws_url=ws_url, clock=clock, connector_id=connector_id),
        gateway=gateway,
        clock=clock,
        pacer=RealTimePacer(clock),
        account=account_label(rest_url, keys.api_key),
        rate_limit_use=rest.rate_limit_use,
        conditional_orders=gateway,
    )


def build_paper(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
                **_: Any) -> ConnectorBundle:
    """`kucoin_perpetual_paper_trade`: KuCoin's public market data, the simulated exchange's account."""
    from pmm.connectors.paper import build_paper as paper_bundle

    rest_url, ws_url = _urls(config)
    clock = LiveClock()
    feed = KucoinFeed(KucoinRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock,
                      connector_id=spec.CONNECTOR_ID)
    return paper_bundle(spec.PAPER_TRADE_CONNECTOR_ID, feed, config, fast=fast, restored_state=restored_state)


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """A public feed (no keys) for `price_source: external_market`: KuCoin's perpetual book for a
    connector id, KuCoin spot's for `kucoin`. Hosts from `connector.price_source_rest_url` /
    `connector.price_source_ws_url` when the config sets them (a local server), else KuCoin's."""
    overrides = getattr(config, "connector", None)
    ws_url = getattr(overrides, "price_source_ws_url", None)
    if source_id == spec.SPOT_FEED_ID:
        from pmm.connectors.kucoin_perpetual.spot_feed import KucoinSpotFeed

        rest_url = getattr(overrides, "price_source_rest_url", None) or spec.SPOT_REST_URL
        return KucoinSpotFeed(KucoinRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock)
    rest_url = getattr(overrides, "price_source_rest_url", None) or spec.REST_URL
    return KucoinFeed(KucoinRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock, connector_id=source_id)
