"""The builder: ids, hosts and overrides, --fast refused, credentials required."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.build import build
from pmm.connectors.binance_perpetual.feed import BinanceFeed
from pmm.connectors.binance_perpetual.gateway import BinanceGateway
from pmm.core.clock import LiveClock
from pmm.credentials import env_names
from pmm.core.pacer import RealTimePacer
from pmm.errors import AuthError, ConfigError

ENV = {c.API_KEY_ENV: "k" * 64, c.API_SECRET_ENV: "s" * 64}


def config(derivative: str = "binance_perpetual", rest_url: str | None = None, ws_url: str | None = None) -> object:
    return SimpleNamespace(derivative=derivative, connector=SimpleNamespace(rest_url=rest_url, ws_url=ws_url))


@pytest.mark.parametrize("connector_id", ["binance_perpetual", "binance_perpetual_testnet"])
def test_builds_live_bundle(connector_id: str) -> None:
    key_var, secret_var = env_names(connector_id)
    bundle = build(config(connector_id), fast=False, env={key_var: "k" * 64, secret_var: "s" * 64})
    assert bundle.connector_id == connector_id
    assert isinstance(bundle.feed, BinanceFeed) and isinstance(bundle.gateway, BinanceGateway)
    assert isinstance(bundle.clock, LiveClock) and isinstance(bundle.pacer, RealTimePacer)
    assert bundle.gateway.venue == connector_id and bundle.export_state is None
    assert bundle.feed._rest is bundle.gateway._rest  # one weight budget per IP
    assert bundle.feed._rest.base_url == c.REST_URLS[connector_id]
    assert bundle.feed._ws_url == c.WS_URLS[connector_id]


def test_overrides_point_at_a_local_server() -> None:
    bundle = build(config(rest_url="http://127.0.0.1:8080/", ws_url="ws://127.0.0.1:8080"), fast=False, env=ENV)
    assert bundle.feed._rest.base_url == "http://127.0.0.1:8080"
    assert bundle.feed._ws_url == "ws://127.0.0.1:8080"


def test_fast_is_refused() -> None:
    with pytest.raises(ConfigError, match="--fast"):
        build(config(), fast=True, env=ENV)


def test_missing_credentials() -> None:
    with pytest.raises(AuthError, match=c.API_KEY_ENV):
        build(config(), fast=False, env={c.API_SECRET_ENV: "s"})


def test_other_ids_are_refused() -> None:
    with pytest.raises(ConfigError):
        build(config("bybit_perpetual"), fast=False, env=ENV)
