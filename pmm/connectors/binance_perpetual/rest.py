"""The Binance USD-M REST client: signing, weight budget, back-off, bans, time sync, errors.

One instance per base URL, shared by the feed and the gateway. The session is
`common/rest_session.py`'s, which also turns a request with no answer into `OrderOutcomeUnknown` on
order calls (never a rejection) and `ExchangeUnavailable` elsewhere. Every reply that is not a 2xx
becomes a `pmm.errors` class through the single table in `errors.py`. Behaviour the rest of the
connector relies on:

- weights are counted client-side from `constants.WEIGHTS` and corrected from the venue's
  `X-MBX-USED-WEIGHT-1M` header; a request that would pass 90% of the minute's budget waits for
  the next minute instead of earning a 429;
- a 429 pauses every request until `Retry-After` (or the next minute) and then retries, at most
  `max_retries` times and never for longer than `max_retry_wait_s`;
- a 418 (IP ban) stops every request, order placement included, until the ban ends, with an
  `ExchangeUnavailable` that says so (sending during a ban lengthens it);
- a -1021 (timestamp outside recvWindow) re-measures the server clock once and retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from yarl import URL

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.auth import BinanceAuth, Params, encode_params
from pmm.connectors.binance_perpetual.errors import RESYNC_TIME_CODES, translate
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, RateLimited

log = logging.getLogger("pmm.binance.rest")

Sleep = Callable[[float], Awaitable[None]]
__all__ = ["BinanceRestClient", "Sleep", "decode_json"]  # decode_json (common/wire_json.py): benchmarks import it here


def _error_body(text: str) -> tuple[int | None, str]:
    try:
        body = json.loads(text)
    except ValueError:
        return None, text.strip()[:200]
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        return body["code"], str(body.get("msg", ""))
    return None, text.strip()[:200]


def _retry_after(headers: Any) -> float | None:
    value = headers.get(c.RETRY_AFTER_HEADER)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class BinanceRestClient(SharedRestSession):
    """Async REST client for one Binance base URL (`https://fapi.binance.com` or an override)."""

    venue = "Binance"

    def __init__(self, base_url: str, *, clock: Clock, auth: BinanceAuth | None = None,
                 timeout_s: float = 10.0, max_retries: int = 3, max_retry_wait_s: float = 60.0,
                 weight_limit: int = c.REQUEST_WEIGHT_LIMIT_1M, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._max_retry_wait_s = max_retry_wait_s
        self._weight_limit = weight_limit
        self._budget = int(Decimal(weight_limit) * c.WEIGHT_SAFETY_FRACTION)
        self._sleep = sleep
        self._minute = -1
        self.used_weight_1m = 0  # the venue's count when known, else ours
        self.order_count_10s = 0
        self.order_count_1m = 0
        self._order_count_ts = 0.0
        self._paused_until = 0.0
        self.banned_until: float | None = None
        self.time_synced = False

    def __repr__(self) -> str:
        return f"BinanceRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, method: str, path: str, params: Params | None = None, *,
                     weight: int | None = None) -> Any:
        return await self._request(method, path, params or [], security="none", order_call=False,
                                   what=f"{method} {path}", weight=weight)

    async def with_key(self, method: str, path: str, params: Params | None = None) -> Any:
        """USER_STREAM / MARKET_DATA endpoints: API key header, no signature."""
        return await self._request(method, path, params or [], security="key", order_call=False,
                                   what=f"{method} {path}", weight=None)

    async def signed(self, method: str, path: str, params: Params | None = None, *,
                     order_call: bool = False, what: str | None = None,
                     accept_codes: frozenset[int] = frozenset()) -> Any:
        """TRADE / USER_DATA endpoints. `order_call`: place or cancel (outcome may be unknown).

        An error reply whose code is in `accept_codes` is returned as its `{"code", "msg"}` body
        instead of raised (e.g. -4059 "no need to change position side" is success for a setter).
        """
        return await self._request(method, path, params or [], security="signed", order_call=order_call,
                                   what=what or f"{method} {path}", weight=None, accept_codes=accept_codes)

    async def sync_time(self) -> None:
        """Measure the server clock (GET /fapi/v1/time) and correct signed timestamps by it."""
        sent = self._clock.now()
        body = await self.public("GET", c.TIME_PATH)
        received = self._clock.now()
        if self.auth is not None:
            self.auth.update_time_offset(int(body["serverTime"]), sent, received)
            log.info("server clock offset %d ms", self.auth.time_offset_ms)
        self.time_synced = True

    # --- internals ------------------------------------------------------------------------------

    def _weight(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> int:
        if path == c.DEPTH_PATH:
            limit = next((int(v) for k, v in params if k == "limit"), 500)
            return c.DEPTH_LIMIT_WEIGHTS.get(limit, 20)
        return c.WEIGHTS.get((method, path), c.DEFAULT_WEIGHT)

    def _check_ban(self, what: str) -> None:
        now = self._clock.now()
        if self.banned_until is not None and now < self.banned_until:
            left = self.banned_until - now
            raise ExchangeUnavailable(
                f"Binance has banned this IP (HTTP 418) for another {left:.0f} s: {what} was not sent, and "
                "order placement is stopped until the ban ends. Do not restart in a loop; it extends the ban."
            )

    async def _wait_for_budget(self, weight: int) -> None:
        """Honour a 429 pause, then keep the minute's weight under the client-side budget."""
        while True:
            now = self._clock.now()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                continue
            minute = int(now // 60)
            if minute != self._minute:
                self._minute = minute
                self.used_weight_1m = 0
            if weight == 0 or self.used_weight_1m + weight <= self._budget:
                self.used_weight_1m += weight
                return
            wait = (minute + 1) * 60 - now + 0.01
            log.warning("request weight %d/%d used this minute; waiting %.1f s", self.used_weight_1m,
                        self._budget, wait)
            await self._sleep(wait)

    def rate_limit_use(self) -> float:
        """The largest share in use of Binance's limits: request weight this minute, orders per 10 s and
        per minute (counts of a window that has passed count as 0)."""
        now = self._clock.now()
        weight = self.used_weight_1m if int(now // 60) == self._minute else 0
        since_orders = now - self._order_count_ts
        orders_10s = self.order_count_10s if since_orders < 10 else 0
        orders_1m = self.order_count_1m if since_orders < 60 else 0
        return max(weight / self._weight_limit, orders_10s / c.ORDER_LIMIT_10S, orders_1m / c.ORDER_LIMIT_1M)

    def _check_order_budget(self, what: str) -> None:
        now = self._clock.now()
        if now - self._order_count_ts >= 10:
            self.order_count_10s = 0
        if now - self._order_count_ts >= 60:
            self.order_count_1m = 0
        if self.order_count_10s >= c.ORDER_LIMIT_10S or self.order_count_1m >= c.ORDER_LIMIT_1M:
            raise RateLimited(
                f"{what} was not sent: the account's order rate limit is reached "
                f"({self.order_count_10s}/10 s, {self.order_count_1m}/min).", retry_after=10.0)

    def _note_headers(self, headers: Any) -> None:
        used = headers.get(c.USED_WEIGHT_HEADER)
        if used is not None and used.isdigit():
            self.used_weight_1m = int(used)
        count_10s = headers.get(c.ORDER_COUNT_10S_HEADER)
        count_1m = headers.get(c.ORDER_COUNT_1M_HEADER)
        if count_10s is not None and count_10s.isdigit():
            self.order_count_10s = int(count_10s)
            self._order_count_ts = self._clock.now()
        if count_1m is not None and count_1m.isdigit():
            self.order_count_1m = int(count_1m)

    def _seconds_to_next_minute(self) -> float:
        now = self._clock.now()
        return math.floor(now / 60 + 1) * 60 - now

    async def _request(self, method: str, path: str, params: Params, *, security: str, order_call: bool,
                       what: str, weight: int | None, accept_codes: frozenset[int] = frozenset()) -> Any:
        if security != "none" and self.auth is None:
            raise AuthError(f"{what} needs Binance API keys; set {c.API_KEY_ENV} and {c.API_SECRET_ENV}.")
        await self.start()
        cost = weight if weight is not None else self._weight(method, path, params)
        is_placement = method == "POST" and path == c.ORDER_PATH
        resynced = False
        retries = 0
        while True:
            self._check_ban(what)
            if is_placement:
                self._check_order_budget(what)
            await self._wait_for_budget(cost)
            if security == "signed":
                assert self.auth is not None
                query = self.auth.signed_query(params)
            else:
                query = encode_params(params)
            # `encoded=True`: the bytes that were signed are the bytes that are sent.
            url = URL(f"{self.base_url}{path}{'?' + query if query else ''}", encoded=True)
            headers = self.auth.headers() if security != "none" and self.auth is not None else {}
            status, text, resp_headers = await self._send(method, url, headers=headers, what=what,
                                                          order_call=order_call)
            self._note_headers(resp_headers)
            if 200 <= status < 300:
                return decode_json(text) if text else {}
            code, msg = _error_body(text)
            if code is not None and code in accept_codes:
                return {"code": code, "msg": msg}
            retry_after = _retry_after(resp_headers)
            if status == c.HTTP_IP_BANNED:
                self.banned_until = self._clock.now() + (retry_after or c.DEFAULT_BAN_S)
                log.error("Binance banned this IP for %.0f s", self.banned_until - self._clock.now())
            elif status == c.HTTP_TOO_MANY_REQUESTS and retries < self._max_retries:
                wait = retry_after if retry_after is not None else self._seconds_to_next_minute()
                if wait <= self._max_retry_wait_s:
                    retries += 1
                    self._paused_until = max(self._paused_until, self._clock.now() + wait)
                    log.warning("HTTP 429 on %s; pausing requests for %.1f s (retry %d)", what, wait, retries)
                    continue
            elif (code is not None and code in RESYNC_TIME_CODES and security == "signed"
                  and not resynced):
                resynced = True
                log.warning("code %d on %s: re-syncing the server clock and retrying once", code, what)
                await self.sync_time()
                continue
            raise translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                            retry_after=retry_after)
