"""Builds `bitget_perpetual` / `bitget_perpetual_testnet` (Bitget demo trading) and the paper-trade
twin, and the public feeds of the `bitget` price sources.

Live clock and real-time pacing; hosts from `spec` unless `connector.rest_url` / `connector.ws_url`
override them (a local venue server, a proxy). Demo trading uses the live REST host with the
`paptrading: 1` header (`auth.py`) and the demo WebSocket host (wspap). Credentials come from
`pmm.credentials.resolve` (environment first, then the encrypted key store); Bitget keys carry a
passphrase (`pmm connect bitget_perpetual` asks for it, or `PMM_<CONNECTOR>_API_PASSPHRASE`). The
feed and the gateway share one REST client, so they share the venue's limits and the contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pmm import credentials
from pmm.connectors.base import ConnectorBundle, MarketDataFeed
from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.auth import BitgetAuth
from pmm.connectors.bitget_perpetual.feed import BitgetFeed
from pmm.connectors.bitget_perpetual.gateway import BitgetGateway
from pmm.connectors.bitget_perpetual.rest import BitgetRestClient
from pmm.connectors.common.credentials import account_label
from pmm.core.clock import Clock, LiveClock
from pmm.core.pacer import RealTimePacer
from pmm.errors import AuthError, ConfigError


def _urls(config: Any, connector_id: str) -> tuple[str, str]:
    overrides = getattr(config, "connector", None)
    return (getattr(overrides, "rest_url", None) or spec.REST_URLS[connector_id],
            getattr(overrides, "ws_url", None) or spec.WS_URLS[connector_id])


def passphrase_of(connector_id: str, keys: credentials.Credentials) -> str:
    """The key's passphrase (stored with it, or from the environment); AuthError without one."""
    if not keys.passphrase:
        raise AuthError(f"The {connector_id} API key has no passphrase: Bitget keys need one. Store it with the key "
                        f"(`pmm connect {connector_id}` asks for it), or set "
                        f"{credentials.passphrase_env_name(connector_id)}.")
    return keys.passphrase


def build(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
          env: Mapping[str, str] | None = None, ask_password: Callable[[str], str] | None = None) -> ConnectorBundle:
    """The bundle for `config.derivative`; `restored_state` is ignored (the venue keeps the account)."""
    connector_id = str(getattr(config, "derivative", spec.CONNECTOR_ID))
    if connector_id not in spec.REST_URLS:
        raise ConfigError(f"`derivative` {connector_id} is not a Bitget perpetual connector; expected "
                          f"{spec.CONNECTOR_ID} or {spec.TESTNET_CONNECTOR_ID}.")
    if fast:
        raise ConfigError(f"--fast needs a simulated venue; {connector_id} trades on Bitget in real time. Drop "
                          "--fast, or use `derivative: sim_perpetual`.")
    rest_url, ws_url = _urls(config, connector_id)
    keys = credentials.resolve(connector_id, environ=env, ask_password=ask_password,
                               passphrase_name=spec.SPEC.capabilities.passphrase_name)
    clock = LiveClock()
    auth = BitgetAuth(keys.api_key, keys.api_secret, passphrase_of(connector_id, keys), clock,
                      demo=spec.is_demo(connector_id))
    rest = BitgetRestClient(rest_url, clock=clock, auth=auth)
    market = getattr(config, "market", None)
    gateway = BitgetGateway(rest, ws_url=ws_url, clock=clock, connector_id=connector_id,
                            markets=[market] if isinstance(market, str) else [])
    return ConnectorBundle(
        connector_id=connector_id,
        feed=BitgetFeed(rest, ws_url=ws_url, clock=clock, connector_id=connector_id),
        gateway=gateway,
        clock=clock,
        pacer=RealTimePacer(clock),
        account=account_label(rest_url, keys.api_key),
        conditional_orders=gateway,
    )


def build_paper(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
                **_: Any) -> ConnectorBundle:
    """`bitget_perpetual_paper_trade`: Bitget's public market data, the simulated exchange's account."""
    from pmm.connectors.paper import build_paper as paper_bundle

    rest_url, ws_url = _urls(config, spec.CONNECTOR_ID)
    clock = LiveClock()
    feed = BitgetFeed(BitgetRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock,
                      connector_id=spec.CONNECTOR_ID)
    return paper_bundle(spec.PAPER_TRADE_CONNECTOR_ID, feed, config, fast=fast, restored_state=restored_state)


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """A public feed (no keys) for `price_source: external_market`: Bitget spot (`bitget`) or a
    Bitget perpetual connector id's market data. Hosts from `connector.price_source_rest_url` /
    `connector.price_source_ws_url` when the config sets them (a local server), else Bitget's; a
    paper-trade id reads the live venue's book."""
    overrides = getattr(config, "connector", None)
    venue = source_id if source_id in spec.REST_URLS else spec.CONNECTOR_ID
    rest_url = getattr(overrides, "price_source_rest_url", None) or spec.REST_URLS[venue]
    ws_url = getattr(overrides, "price_source_ws_url", None) or spec.WS_URLS[venue]
    if source_id == spec.SPOT_FEED_ID:
        from pmm.connectors.bitget_perpetual.spot_feed import BitgetSpotFeed

        return BitgetSpotFeed(BitgetRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock)
    return BitgetFeed(BitgetRestClient(rest_url, clock=clock), ws_url=ws_url, clock=clock, connector_id=source_id)
