"""The BitMEX REST client: signing, rate-limit headers, time sync, errors, instruments.

One instance per base URL, shared by the feed and the gateway (one account, one IP, one set of
limits; the session is `common/rest_session.py`'s). A good answer is the JSON itself (a row or a list
of rows); a failed one is an HTTP status with `{"error": {"message", "name"}}`, turned into a
`pmm.errors` class through the one table in `errors.py`. What the rest of the connector relies on:

- GET parameters go in the query string (a `filter` is JSON inside it); POST, PUT and DELETE bodies
  are compact JSON; the signature covers exactly the bytes sent (`auth.py`);
- every answer carries `x-ratelimit-limit` / `-remaining` / `-reset` (unix seconds) for the account's
  budget, a token bucket refilled continuously, and order calls `x-ratelimit-remaining-1s`: a request
  that would find the budget empty waits for the next token instead of earning a 429; a 429 anyway
  waits `Retry-After` and retries;
- 401 "This request has expired" re-measures the server clock (`GET /api/v1/`) and retries once;
- HTTP 403 (BitMEX bans this IP or key) stops every request for `IP_BAN_S` without sending anything;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.

It also keeps the instruments (contract sizes) the feed and the gateway both convert with.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from yarl import URL

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.auth import BitmexAuth
from pmm.connectors.bitmex_perpetual.errors import is_ban, is_expired, translate
from pmm.connectors.bitmex_perpetual.parse import Instrument, parse_instrument, parse_spot_instrument
from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, OrderOutcomeUnknown, RateLimited

log = logging.getLogger("pmm.bitmex.rest")

Query = Sequence[tuple[str, str]]
Body = dict[str, Any]

IP_BAN_S = 3600.0    # BitMEX: "wait for at least one hour" after a 403 ban
_RETRY_WAIT_S = 1.0  # without a Retry-After
_BUDGET = "account"  # BitMEX's request budget is per account, not per path
ACCOUNT_WINDOW_S = 60.0  # x-ratelimit-limit is per minute
_BUDGET_1S = "orders-1s"


def encode_query(params: Query) -> str:
    return urlencode(list(params))


_DECIMAL_MARK = re.compile(r'"\\u0000dec:(-?[0-9]+(?:\.[0-9]+)?)"')


def encode_body(body: Body) -> str:
    """Compact JSON; a Decimal is written as the JSON number it is (BitMEX reads prices as numbers),
    digit for digit, never through a float."""
    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return "\0dec:" + format(value, "f")
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value
    return _DECIMAL_MARK.sub(r"\1", json.dumps(mark(body), separators=(",", ":")))


def filter_param(**fields: Any) -> tuple[str, str]:
    """The `filter` query parameter: JSON of the fields a list must match."""
    return "filter", json.dumps(fields, separators=(",", ":"))


def _error_message(text: str) -> str | None:
    try:
        body = decode_json(text)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")
    if isinstance(error, str):
        return error
    return None


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


class BitmexRestClient(SharedRestSession):
    """Async REST client for one BitMEX base URL (`https://www.bitmex.com` or an override)."""

    venue = "BitMEX"

    def __init__(self, base_url: str, *, clock: Clock, auth: BitmexAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=5.0)
        self.instruments: dict[str, Instrument] = {}  # by symbol

    def __repr__(self) -> str:
        return f"BitmexRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = ()) -> Any:
        return await self._request("GET", path, params, None, signed=False, order_call=False, what=f"GET {path}")

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> Any:
        return await self._request("GET", path, params, None, signed=True, order_call=False,
                                   what=what or f"GET {path}")

    async def send(self, method: str, path: str, body: Body, *, order_call: bool = False,
                   what: str | None = None) -> Any:
        """A signed POST, PUT or DELETE with a JSON body."""
        return await self._request(method, path, (), body, signed=True, order_call=order_call,
                                   what=what or f"{method} {path}")

    async def instrument(self, market: str) -> Instrument:
        """The market's perpetual (contract multiplier, lot, tick), read once and kept."""
        symbol = spec.to_venue_symbol(market)
        if symbol not in self.instruments:
            rows = [] if spec.is_inverse_market(market) else \
                await self.public(spec.INSTRUMENT_PATH, [("symbol", symbol)])
            self.instruments[symbol] = parse_instrument(rows if isinstance(rows, list) else [], market)
        return self.instruments[symbol]

    async def spot_instrument(self, market: str) -> Instrument:
        """The market's spot pair (a price source), read once and kept."""
        symbol = spec.to_spot_symbol(market)
        if symbol not in self.instruments:
            rows = await self.public(spec.INSTRUMENT_PATH, [("symbol", symbol)])
            self.instruments[symbol] = parse_spot_instrument(rows if isinstance(rows, list) else [], market)
        return self.instruments[symbol]

    async def sync_time(self) -> None:
        """Measure the server clock (GET /api/v1/ answers its `timestamp` in ms) and sign by it."""
        sent = self._clock.now()
        answer = await self.public(spec.ROOT_PATH)
        if self.auth is not None and isinstance(answer, dict) and answer.get("timestamp") is not None:
            self.auth.update_time_offset(int(answer["timestamp"]), sent, self._clock.now())
            log.info("BitMEX server clock offset %d ms", self.auth.time_offset_ms)

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(f"{what} was not sent: BitMEX banned this IP or key (HTTP 403); "
                                      f"{left:.0f} s left before pmm tries again.")

    async def _wait_budget(self, keys: Sequence[str], what: str) -> None:
        for key in keys:
            missing = await self.limits.wait_turn(key)
            if missing > 0:
                raise RateLimited(f"{what} was not sent: BitMEX's request budget is used up for {missing:.1f} s "
                                  "more.", missing)

    def _note_limits(self, headers: Mapping[str, str]) -> None:
        limit, remaining = _number(headers, "x-ratelimit-limit"), _number(headers, "x-ratelimit-remaining")
        reset = _number(headers, "x-ratelimit-reset")
        if remaining is not None and remaining <= 0 and limit:
            # BitMEX's budget is a token bucket refilled continuously (`limit` a minute): the reset is
            # when it is full again, the next request needs only the next token
            reset = min(reset if reset is not None else float("inf"), self._clock.now() + ACCOUNT_WINDOW_S / limit)
        if remaining is not None:
            self.limits.note(_BUDGET, limit=None if limit is None else int(limit), remaining=int(remaining),
                             reset_ts=reset)
        per_second = _number(headers, "x-ratelimit-remaining-1s")
        if per_second is not None:
            self.limits.note(_BUDGET_1S, limit=None, remaining=int(per_second), reset_ts=self._clock.now() + 1.0)

    async def _request(self, method: str, path: str, params: Query, body: Body | None, *, signed: bool,
                       order_call: bool, what: str) -> Any:
        if signed and self.auth is None:
            raise AuthError(f"{what} needs API keys: run `pmm connect {spec.CONNECTOR_ID}`.")
        await self.start()
        query = encode_query(params)
        request_path = path + (f"?{query}" if query else "")
        url = URL(self.base_url + request_path, encoded=True)  # the signed bytes are the sent bytes
        payload = encode_body(body) if body is not None else ""
        budgets = [_BUDGET, _BUDGET_1S] if order_call else [_BUDGET]
        resynced, retries = False, 0
        while True:
            self._check_ban(what)
            await self._wait_budget(budgets, what)
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if signed:
                assert self.auth is not None
                headers.update(self.auth.headers(method, request_path, payload))
            status, text, reply_headers = await self._send(method, url, headers=headers, what=what,
                                                           order_call=order_call,
                                                           data=payload.encode() if body is not None else None)
            self._note_limits(reply_headers or {})
            if 200 <= status < 300:
                try:
                    return decode_json(text)
                except ValueError:
                    if order_call:
                        raise OrderOutcomeUnknown(f"{what}: BitMEX answered HTTP {status} with unreadable JSON; the "
                                                  "order stays in flight until reconciliation settles it.") from None
                    raise ExchangeUnavailable(f"{what}: BitMEX answered HTTP {status} with unreadable JSON "
                                              f"({text[:80]!r}). pmm retries.") from None
            message = _error_message(text)
            message = message if message is not None else text.strip()[:200]
            retry_after = _number(reply_headers or {}, "retry-after")
            if is_ban(status, message):
                self.limits.ban(IP_BAN_S)
                log.error("BitMEX answered HTTP 403 to %s (%s): this IP or key is banned; nothing is sent for %.0f s",
                          what, message, IP_BAN_S)
            if status == 429 and retries < self._max_retries:
                retries += 1
                wait = retry_after if retry_after is not None else _RETRY_WAIT_S
                log.warning("rate limited on %s (HTTP 429: %s); retrying in %.1f s (retry %d)", what, message, wait,
                            retries)
                await self._sleep(wait)
                continue
            if status == 401 and is_expired(message) and signed and not resynced:
                resynced = True
                log.warning("%s on %s: re-syncing the server clock and retrying once", message, what)
                await self.sync_time()
                continue
            raise translate(what=what, status=status, message=message, order_call=order_call,
                            retry_after=retry_after if status == 429 else None)
