"""The Bybit v5 REST client: envelope, signing, rate limits, IP blocks, time sync, errors.

One instance per base URL, shared by the feed and the gateway (they share the venue's limits as they
share an account and an IP; the session is `common/rest_session.py`'s). Every reply is the
`{retCode, retMsg, result, retExtInfo, time}` envelope; `result` is returned on retCode 0 and
anything else becomes a `pmm.errors` class through the single table in `errors.py`. Behaviour the
rest of the connector relies on:

- GET parameters go in the query string, POST parameters in a compact JSON body; the signature is
  computed over exactly those bytes and they are sent unchanged;
- `X-Bapi-Limit-Status` / `X-Bapi-Limit-Reset-Timestamp` are recorded per endpoint: a request to an
  endpoint whose budget is used up waits for its reset instead of earning a refusal;
- retCode 10006 (too many visits) waits until the reset the reply names (at most
  `max_retry_wait_s`) and retries, at most `max_retries` times; HTTP 429 the same;
- HTTP 403 (the IP passed the venue's limit) blocks every request, order placement included, for
  ten minutes with an `ExchangeUnavailable` that says so, without sending anything;
- retCode 10002 (timestamp outside the recv window) re-measures the server clock once and retries;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Container, Mapping
from typing import Any


from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.errors import (
    RATE_LIMIT_CODES,
    RESYNC_TIME_CODES,
    translate,
)
from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import Query, SharedRestSession, encode_body, encode_query
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, RateLimited

log = logging.getLogger("pmm.bybit.rest")

_DEFAULT_RETRY_WAIT_S = 1.0  # a refusal without a reset header: per-second limits refill within 1 s


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _envelope(text: str) -> dict[str, Any] | None:
    try:
        body = decode_json(text)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get(c.RET_CODE), int):
        return body
    return None


class BybitRestClient(SharedRestSession):
    """Async REST client for one Bybit base URL (`https://api.bybit.com` or an override)."""

    venue = "Bybit"

    def __init__(self, base_url: str, *, clock: Clock, auth: BybitAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, max_retry_wait_s: float = 5.0, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._max_retry_wait_s = max_retry_wait_s
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=max_retry_wait_s)
        self.time_synced = False

    def __repr__(self) -> str:
        return f"BybitRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = ()) -> Any:
        """A public GET; returns the envelope's `result`."""
        return await self._request("GET", path, params, None, signed=False, order_call=False,
                                   what=f"GET {path}", accept_codes=frozenset())

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> Any:
        """A signed GET; returns the envelope's `result`."""
        return await self._request("GET", path, params, None, signed=True, order_call=False,
                                   what=what or f"GET {path}", accept_codes=frozenset())

    async def post(self, path: str, body: Mapping[str, Any], *, order_call: bool = False, what: str | None = None,
                   accept_codes: Container[int] = frozenset()) -> Any:
        """A signed POST with a JSON body; returns the envelope's `result`.

        `order_call`: create / cancel (the outcome may be unknown). A reply whose retCode is in
        `accept_codes` is returned as the whole envelope instead of raised (e.g. 110043 "leverage
        not modified" is success for a setter).
        """
        return await self._request("POST", path, (), body, signed=True, order_call=order_call,
                                   what=what or f"POST {path}", accept_codes=accept_codes)

    async def sync_time(self) -> None:
        """Measure the server clock (GET /v5/market/time) and correct signed timestamps by it."""
        sent = self._clock.now()
        result, envelope_ms = await self._request("GET", c.SERVER_TIME_PATH, (), None, signed=False,
                                                  order_call=False, what=f"GET {c.SERVER_TIME_PATH}",
                                                  accept_codes=frozenset(), with_time=True)
        received = self._clock.now()
        server_ms = envelope_ms
        if isinstance(result, dict) and result.get("timeNano"):
            server_ms = int(str(result["timeNano"])) // 1_000_000
        elif isinstance(result, dict) and result.get("timeSecond"):
            server_ms = int(str(result["timeSecond"])) * 1000
        if self.auth is not None and server_ms:
            self.auth.update_time_offset(int(server_ms), sent, received)
            log.info("Bybit server clock offset %d ms", self.auth.time_offset_ms)
        self.time_synced = True

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(
                f"{what} was not sent: Bybit blocked this IP (HTTP 403, request limit) for another {left:.0f} s, "
                "and order placement is stopped until then. Do not restart in a loop; it extends the block.")

    def _note_limits(self, path: str, headers: Any) -> None:
        reset_ms = _int_header(headers, c.LIMIT_RESET_HEADER)
        self.limits.note(path, limit=_int_header(headers, c.LIMIT_HEADER),
                         remaining=_int_header(headers, c.LIMIT_STATUS_HEADER),
                         reset_ts=None if reset_ms is None else reset_ms / 1000)

    def _retry_wait(self, path: str) -> float:
        """Seconds until the endpoint's budget resets, as the last reply said (else one second)."""
        budget = self.limits.budget(path)
        wait = budget.reset_ts - self._clock.now()
        return wait if wait > 0 else _DEFAULT_RETRY_WAIT_S

    async def _request(self, method: str, path: str, params: Query, body: Mapping[str, Any] | None, *,
                       signed: bool, order_call: bool, what: str, accept_codes: Container[int],
                       with_time: bool = False) -> Any:
        if signed and self.auth is None:
            raise AuthError(f"{what} needs Bybit API keys: run `pmm connect {c.CONNECTOR_ID}` or set "
                            f"{c.API_KEY_ENV} and {c.API_SECRET_ENV}.")
        await self.start()
        query = encode_query(params) if params else ""
        payload = encode_body(body) if body is not None else ""
        url = self.url(path, query)
        resynced = False
        retries = 0
        while True:
            self._check_ban(what)
            missing = await self.limits.wait_turn(path)
            if missing > 0:
                raise RateLimited(f"{what} was not sent: Bybit's rate limit for {path} is used up for another "
                                  f"{missing:.1f} s. pmm backs off and retries.", retry_after=missing)
            headers: dict[str, str] = {}
            if signed:
                assert self.auth is not None
                headers.update(self.auth.headers(query if method == "GET" else payload))
            if body is not None:
                headers["Content-Type"] = c.CONTENT_TYPE_JSON
            status, text, resp_headers = await self._send(
                method, url, headers=headers, what=what, order_call=order_call,
                data=payload.encode() if body is not None else None)
            self._note_limits(path, resp_headers)
            envelope = _envelope(text)
            code = envelope[c.RET_CODE] if envelope is not None else None
            msg = str(envelope.get(c.RET_MSG, "")) if envelope is not None else text.strip()[:200]
            if self.auth is not None:
                msg = self.auth.redact(msg)
            if status == 200 and code == c.RetCode.OK:
                assert envelope is not None
                result = envelope.get(c.RESULT) or {}
                return (result, int(envelope.get(c.TIME) or 0)) if with_time else result
            if code is not None and code in accept_codes:
                return envelope
            if status == c.HTTP_FORBIDDEN:
                self.limits.ban(c.IP_BAN_S)
                log.error("Bybit answered HTTP 403 to %s: this IP is blocked for %.0f s", what, c.IP_BAN_S)
            elif ((code is not None and code in RATE_LIMIT_CODES) or status == c.HTTP_TOO_MANY_REQUESTS) \
                    and retries < self._max_retries:
                wait = self._retry_wait(path)
                if wait <= self._max_retry_wait_s:
                    retries += 1
                    self.limits.pause(path, self._clock.now() + wait)
                    log.warning("rate limited on %s (retCode %s, HTTP %d); retrying in %.2f s (retry %d)", what,
                                code, status, wait, retries)
                    continue
            elif code is not None and code in RESYNC_TIME_CODES and signed and not resynced:
                resynced = True
                log.warning("retCode %d on %s: re-syncing the server clock and retrying once", code, what)
                await self.sync_time()
                continue
            if envelope is None and 200 <= status < 300:
                raise self.unreadable(status, msg, what=what, order_call=order_call)
            retry_after = self._retry_wait(path) if code in RATE_LIMIT_CODES or status == 429 else None
            raise translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                            retry_after=retry_after)
