"""The KuCoin Futures REST client: envelope, signing, rate-limit headers, time sync, errors, contracts.

One instance per base URL, shared by the feed and the gateway (one account, one IP, one set of
limits; the session is `common/rest_session.py`'s). Every reply is `{"code": "200000", "data": ...}`;
`data` is returned on 200000, anything else becomes a `pmm.errors` class through the one table in
`errors.py`. What the rest of the connector relies on:

- GET and DELETE parameters go in the query string, POST bodies are compact JSON; the signature
  covers exactly the bytes sent (`auth.py`); JSON numbers with a fraction are read as `Decimal`;
- KuCoin reports each private pool's budget in `gw-ratelimit-limit / -remaining / -reset` (reset in
  ms from now): a request to an exhausted pool waits for the reset instead of earning a 429000,
  and a 429000 anyway waits that long (or a second) and retries (`max_retries`);
- 400002 (timestamp outside 5 s) re-measures the server clock once and retries;
- HTTP 403 stops every request, order placement included, for `IP_BAN_S`;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.

It also keeps the instruments (lot sizes) the feed and the gateway both convert with.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from yarl import URL

from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.auth import KucoinAuth
from pmm.connectors.kucoin_perpetual.errors import RATE_LIMIT_CODES, RESYNC_TIME_CODES, translate
from pmm.connectors.kucoin_perpetual.parse import Instrument, parse_instrument
from pmm.core.clock import Clock
from pmm.errors import AuthError, ConfigError, ExchangeUnavailable, OrderOutcomeUnknown, RateLimited

log = logging.getLogger("pmm.kucoin.rest")

Query = Sequence[tuple[str, str]]

IP_BAN_S = 60.0  # KuCoin names no duration for a refused IP: a minute before trying again
_RETRY_WAIT_S = 1.0
_POOL = "futures"  # KuCoin counts every futures endpoint in one pool per account


def path_of(template: str, **params: str) -> str:
    """A path with its {placeholders} filled, each value escaped for a path segment."""
    return template.format(**{k: quote(v, safe="") for k, v in params.items()})


def _envelope(text: str) -> dict[str, Any] | None:
    try:
        body = decode_json(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("code"), str) else None


def _int_header(headers: Mapping[str, str] | None, name: str) -> int | None:
    value = (headers or {}).get(name)
    return int(value) if value is not None and value.strip().lstrip("-").isdigit() else None


class KucoinRestClient(SharedRestSession):
    """Async REST client for one KuCoin Futures base URL (`https://api-futures.kucoin.com` or an override)."""

    venue = "KuCoin"

    def __init__(self, base_url: str, *, clock: Clock, auth: KucoinAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=5.0)
        self.instruments: dict[str, Instrument] = {}  # by symbol

    def __repr__(self) -> str:
        return f"KucoinRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = (), *, method: str = "GET") -> Any:
        return await self._request(method, path, params, None, signed=False, order_call=False,
                                   what=f"{method} {path}")

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> Any:
        return await self._request("GET", path, params, None, signed=True, order_call=False, what=what or f"GET {path}")

    async def post(self, path: str, body: dict[str, Any], *, order_call: bool = False, what: str | None = None) -> Any:
        return await self._request("POST", path, (), body, signed=True, order_call=order_call,
                                   what=what or f"POST {path}")

    async def delete(self, path: str, params: Query = (), *, order_call: bool = False, what: str | None = None) -> Any:
        return await self._request("DELETE", path, params, None, signed=True, order_call=order_call,
                                   what=what or f"DELETE {path}")

    async def instrument(self, market: str) -> Instrument:
        """The market's contract (multiplier, lot, tick, fees), read once and kept."""
        symbol = spec.to_venue_symbol(market)
        if symbol not in self.instruments:
            try:
                row = await self.public(path_of(spec.CONTRACT_PATH, symbol=symbol))
            except ConfigError:  # 100011: no such contract; parse_instrument says what to do
                row = {}
            self.instruments[symbol] = parse_instrument(row or {}, market)
        return self.instruments[symbol]

    async def sync_time(self) -> None:
        """Measure the server clock (GET /api/v1/timestamp) and correct signed timestamps by it."""
        sent = self._clock.now()
        server_ms = await self.public(spec.SERVER_TIME_PATH)
        if self.auth is not None:
            self.auth.update_time_offset(int(server_ms), sent, self._clock.now())
            log.info("KuCoin server clock offset %d ms", self.auth.time_offset_ms)

    def rate_limit_use(self) -> float:
        return self.limits.use()

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(f"{what} was not sent: KuCoin refused this IP (HTTP 403) and pmm waits "
                                      f"another {left:.0f} s before trying again.")

    async def _wait_budget(self, what: str) -> None:
        missing = await self.limits.wait_turn(_POOL)
        if missing > 0:
            raise RateLimited(f"{what} was not sent: KuCoin's futures request pool is used up for another "
                              f"{missing:.1f} s (gw-ratelimit-remaining 0). pmm backs off and retries.",
                              retry_after=missing)

    def _note_limits(self, headers: Mapping[str, str] | None) -> float | None:
        """Record the pool's budget from the gw-ratelimit-* headers; the seconds until its reset."""
        reset_ms = _int_header(headers, spec.RATE_RESET_HEADER)
        remaining = _int_header(headers, spec.RATE_REMAINING_HEADER)
        if remaining is None and reset_ms is None:
            return None
        reset_ts = self._clock.now() + reset_ms / 1000 if reset_ms is not None else None
        self.limits.note(_POOL, limit=_int_header(headers, spec.RATE_LIMIT_HEADER), remaining=remaining,
                         reset_ts=reset_ts)
        return None if reset_ms is None else reset_ms / 1000

    async def _request(self, method: str, path: str, params: Query, body: dict[str, Any] | None, *, signed: bool,
                       order_call: bool, what: str) -> Any:
        if signed and self.auth is None:
            raise AuthError(f"{what} needs KuCoin API keys: run `pmm connect {spec.CONNECTOR_ID}`.")
        await self.start()
        query = urlencode(list(params)) if params else ""
        payload = json.dumps(body, separators=(",", ":")) if body is not None else ""
        endpoint = f"{path}{'?' + query if query else ''}"
        url = URL(f"{self.base_url}{endpoint}", encoded=True)  # the signed bytes are the sent bytes
        resynced, retries = False, 0
        while True:
            self._check_ban(what)
            await self._wait_budget(what)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if signed:
                assert self.auth is not None
                headers.update(self.auth.headers(method, endpoint, payload))
            status, text, reply_headers = await self._send(method, url, headers=headers, what=what,
                                                           order_call=order_call,
                                                           data=payload.encode() if body is not None else None)
            reset_s = self._note_limits(reply_headers)
            envelope = _envelope(text)
            raw_code = envelope["code"] if envelope is not None else ""
            code = int(raw_code) if raw_code.isdigit() else None
            msg = str(envelope.get("msg") or "") if envelope is not None else text.strip()[:200]
            if status == 200 and raw_code == spec.OK_CODE:
                return envelope.get("data") if envelope is not None else None
            if status == 403:
                self.limits.ban(IP_BAN_S)
                log.error("KuCoin answered HTTP 403 to %s: this IP is blocked for %.0f s", what, IP_BAN_S)
            limited = code in RATE_LIMIT_CODES or status == 429
            wait_s = max(_RETRY_WAIT_S if reset_s is None else reset_s, 0.05)
            if limited and retries < self._max_retries:
                retries += 1
                log.warning("rate limited on %s (code %s, HTTP %d); retrying in %.2f s (retry %d)", what, code,
                            status, wait_s, retries)
                await self._sleep(wait_s)
                continue
            if code in RESYNC_TIME_CODES and signed and not resynced:
                resynced = True
                log.warning("code %s on %s: re-syncing the server clock and retrying once", code, what)
                await self.sync_time()
                continue
            if envelope is None and 200 <= status < 300:
                if order_call:
                    raise OrderOutcomeUnknown(f"{what}: KuCoin answered HTTP {status} with no readable envelope; "
                                              "the order stays in flight until reconciliation settles it.")
                raise ExchangeUnavailable(f"{what}: KuCoin answered HTTP {status} with no readable envelope "
                                          f"({msg[:80]!r}). pmm retries.")
            raise translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                            retry_after=wait_s if limited else None)
