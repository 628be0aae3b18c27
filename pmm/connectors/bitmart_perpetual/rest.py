"""The BitMart Futures V2 REST client: envelope, KEYED / SIGNED requests, rate-limit headers, time
sync, errors, contract details.

One instance per base URL, shared by the feed and the gateway (one account, one IP, one set of
limits; the session is `common/rest_session.py`'s). Every reply is `{"code", "message", "data",
"trace"}`; `data` is returned on code 1000, anything else becomes a `pmm.errors` class through the
one table in `errors.py`. What the rest of the connector relies on:

- public GETs carry nothing, private GETs only `X-BM-KEY` (KEYED, as BitMart documents them),
  POSTs a compact JSON body signed over exactly the bytes sent (`auth.py`);
- `X-BM-RateLimit-Limit` / `-Remaining` / `-Reset` are read after every reply. Remaining counts
  the requests USED in the window (despite its name), Reset is the window in seconds: a request to
  an endpoint whose window is used up waits for it instead of earning a 30013;
- a 30013 / HTTP 429 waits a second and retries (`max_retries`); 30007 / 30008 (timestamp)
  re-measure the server clock once and retry;
- HTTP 418 (code 30017: BitMart refuses the account for breaking its limits) stops every request,
  order placement included, for Retry-After seconds (else `IP_BAN_S`) without sending anything;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from yarl import URL

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.auth import BitmartAuth
from pmm.connectors.bitmart_perpetual.errors import IP_BAN_STATUS, OK, RATE_LIMIT_CODES, RESYNC_TIME_CODES, translate
from pmm.connectors.bitmart_perpetual.parse import Instrument, parse_instrument
from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, OrderOutcomeUnknown, RateLimited

log = logging.getLogger("pmm.bitmart.rest")

Query = Sequence[tuple[str, str]]

IP_BAN_S = 60.0  # without a Retry-After, a minute before trying again
_RETRY_WAIT_S = 1.0  # BitMart's windows are 2 s: a refused request is worth one more try a second later
LIMIT_HEADER = "X-BM-RateLimit-Limit"
USED_HEADER = "X-BM-RateLimit-Remaining"  # the USED count, despite the name
RESET_HEADER = "X-BM-RateLimit-Reset"     # the window, in seconds


def encode_query(params: Query) -> str:
    return urlencode(list(params))


def encode_body(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def _envelope(text: str) -> dict[str, Any] | None:
    try:
        body = decode_json(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("code"), int) else None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


class BitmartRestClient(SharedRestSession):
    """Async REST client for one BitMart futures base URL (`https://api-cloud-v2.bitmart.com` or an override)."""

    venue = "BitMart"

    def __init__(self, base_url: str, *, clock: Clock, auth: BitmartAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=5.0)
        self.instruments: dict[str, Instrument] = {}  # by symbol

    def __repr__(self) -> str:
        return f"BitmartRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = ()) -> Any:
        return await self._request("GET", path, params, None, auth="none", order_call=False, what=f"GET {path}")

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> Any:
        """A KEYED GET (the key alone)."""
        return await self._request("GET", path, params, None, auth="keyed", order_call=False,
                                   what=what or f"GET {path}")

    async def post(self, path: str, body: Mapping[str, Any], *, order_call: bool = False,
                   what: str | None = None) -> Any:
        """A SIGNED POST."""
        return await self._request("POST", path, (), body, auth="signed", order_call=order_call,
                                   what=what or f"POST {path}")

    async def instrument(self, market: str) -> Instrument:
        """The market's perpetual (contract size, steps, tick), read once and kept."""
        symbol = spec.to_venue_symbol(market)
        if symbol not in self.instruments:
            data = await self.public(spec.DETAILS_PATH, [("symbol", symbol)])
            self.instruments[symbol] = parse_instrument(data, market)
        return self.instruments[symbol]

    async def sync_time(self) -> None:
        """Measure the server clock (GET /system/time) and correct signed timestamps by it."""
        sent = self._clock.now()
        data = await self.public(spec.SERVER_TIME_PATH)
        if self.auth is not None and isinstance(data, dict) and "server_time" in data:
            self.auth.update_time_offset(int(data["server_time"]), sent, self._clock.now())
            log.info("BitMart server clock offset %d ms", self.auth.time_offset_ms)

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(f"{what} was not sent: BitMart refuses this account's requests (HTTP "
                                      f"{IP_BAN_STATUS}, code 30017) for another {left:.0f} s; order placement is "
                                      "stopped until then.")

    async def _wait_budget(self, path: str, what: str) -> None:
        missing = await self.limits.wait_turn(path)
        if missing > 0:
            raise RateLimited(f"{what} was not sent: BitMart's request window for {path} is used up for another "
                              f"{missing:.1f} s. pmm backs off and retries.", retry_after=missing)
        budget = self.limits.budget(path)
        if budget.remaining is not None:
            budget.remaining -= 1  # counted here too: requests in flight are not in the last reply's count

    def _note_limits(self, path: str, headers: Mapping[str, str]) -> None:
        limit, used, window = (_int_header(headers, name) for name in (LIMIT_HEADER, USED_HEADER, RESET_HEADER))
        if limit is None or used is None:
            return
        reset_ts = self._clock.now() + (window if window is not None else 2)
        self.limits.note(path, limit=limit, remaining=max(0, limit - used), reset_ts=reset_ts)

    async def _request(self, method: str, path: str, params: Query, body: Mapping[str, Any] | None, *, auth: str,
                       order_call: bool, what: str) -> Any:
        if auth != "none" and self.auth is None:
            raise AuthError(f"{what} needs BitMart API keys: run `pmm connect {spec.CONNECTOR_ID}`.")
        await self.start()
        query = encode_query(params) if params else ""
        payload = encode_body(body) if body is not None else ""
        url = URL(f"{self.base_url}{path}{'?' + query if query else ''}", encoded=True)
        resynced, retries = False, 0
        while True:
            self._check_ban(what)
            await self._wait_budget(path, what)
            headers = {"Content-Type": "application/json"}
            if self.auth is not None and auth == "keyed":
                headers.update(self.auth.keyed_headers())
            elif self.auth is not None and auth == "signed":
                headers.update(self.auth.signed_headers(payload))
            status, text, reply_headers = await self._send(method, url, headers=headers, what=what,
                                                           order_call=order_call,
                                                           data=payload.encode() if body is not None else None)
            self._note_limits(path, reply_headers)
            envelope = _envelope(text)
            code = int(envelope["code"]) if envelope is not None else None
            msg = str(envelope.get("message") or "") if envelope is not None else text.strip()[:200]
            if status == 200 and code == OK:
                return envelope["data"] if envelope is not None else None
            retry_after = _retry_after(reply_headers)
            if status == IP_BAN_STATUS:
                ban_s = retry_after if retry_after is not None else IP_BAN_S
                self.limits.ban(ban_s)
                log.error("BitMart answered HTTP %d to %s: requests are refused for %g s", status, what, ban_s)
            if (code in RATE_LIMIT_CODES or status == 429) and retries < self._max_retries:
                retries += 1
                log.warning("rate limited on %s (code %s, HTTP %d); retrying in %.1f s (retry %d)", what, code,
                            status, _RETRY_WAIT_S, retries)
                await self._sleep(_RETRY_WAIT_S)
                continue
            if code in RESYNC_TIME_CODES and auth == "signed" and not resynced:
                resynced = True
                log.warning("code %s on %s: re-syncing the server clock and retrying once", code, what)
                await self.sync_time()
                continue
            if envelope is None and 200 <= status < 300:
                if order_call:
                    raise OrderOutcomeUnknown(f"{what}: BitMart answered HTTP {status} with no readable envelope; "
                                              "the order stays in flight until reconciliation settles it.")
                raise ExchangeUnavailable(f"{what}: BitMart answered HTTP {status} with no readable envelope "
                                          f"({msg[:80]!r}). pmm retries.")
            raise translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                            retry_after=retry_after if retry_after is not None else
                            (_RETRY_WAIT_S if code in RATE_LIMIT_CODES or status == 429 else None))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
