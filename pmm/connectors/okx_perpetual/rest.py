"""The OKX v5 REST client: envelope, signing, per-endpoint rate limits, time sync, errors, instruments.

One instance per base URL, shared by the feed and the gateway (one account, one IP, one set of
limits; the session is `common/rest_session.py`'s). Every reply is `{"code", "msg", "data": [...]}`;
`data` is returned on code "0", anything else becomes a `pmm.errors` class through the one table in
`errors.py`. What the rest of the connector relies on:

- GET parameters go in the query string, POST bodies are compact JSON (an object, or an array for
  the batch endpoints); the signature covers exactly the bytes sent (`auth.py`);
- OKX sends no rate-limit headers, so each endpoint's documented budget (`LIMITS`, requests or
  orders per window) is counted here: a request that would exceed it waits for the window instead of
  earning a 50011; a 50011 / 50013 / HTTP 429 anyway waits a second and retries (`max_retries`);
- an order call that failed for every item (top-level code "1") raises the item's own `sCode`;
  `items=True` returns the rows of a batch, each with its `sCode`, for the caller to read one by one;
- 50102 / 50112 (timestamp) re-measure the server clock once and retry;
- HTTP 403 (OKX refuses this IP) stops every request, order placement included, for `IP_BAN_S`
  with an `ExchangeUnavailable` that says so, without sending anything;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.

It also keeps the instruments (contract sizes) the feed and the gateway both convert with.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from yarl import URL

from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.auth import OkxAuth
from pmm.connectors.okx_perpetual.errors import RATE_LIMIT_CODES, RESYNC_TIME_CODES, translate
from pmm.connectors.okx_perpetual.parse import Instrument, parse_instrument
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, OrderOutcomeUnknown, RateLimited

log = logging.getLogger("pmm.okx.rest")

Query = Sequence[tuple[str, str]]
Body = dict[str, Any] | list[dict[str, Any]]

IP_BAN_S = 60.0  # OKX names no duration for a refused IP: a minute before trying again
_RETRY_WAIT_S = 1.0  # OKX's windows are 1-2 s: a refused request is worth one more try a second later

# Documented budgets: path -> (requests, or orders for the batch endpoints, per window in seconds).
LIMITS: dict[str, tuple[int, float]] = {
    spec.ORDER_PATH: (60, 2.0), spec.CANCEL_ORDER_PATH: (60, 2.0), spec.AMEND_ORDER_PATH: (60, 2.0),
    spec.BATCH_ORDERS_PATH: (300, 2.0), spec.CANCEL_BATCH_PATH: (300, 2.0), spec.ORDERS_PENDING_PATH: (60, 2.0),
    spec.FILLS_PATH: (60, 2.0), spec.FILLS_HISTORY_PATH: (10, 2.0), spec.CANCEL_ALL_AFTER_PATH: (1, 1.0),
    spec.ALGO_ORDER_PATH: (20, 2.0), spec.CANCEL_ALGOS_PATH: (20, 2.0), spec.ALGO_PENDING_PATH: (20, 2.0),
    spec.BALANCE_PATH: (10, 2.0), spec.POSITIONS_PATH: (10, 2.0), spec.ACCOUNT_CONFIG_PATH: (5, 2.0),
    spec.SET_POSITION_MODE_PATH: (5, 2.0), spec.SET_LEVERAGE_PATH: (20, 2.0), spec.TRADE_FEE_PATH: (5, 2.0),
    spec.BILLS_PATH: (5, 1.0), spec.BILLS_ARCHIVE_PATH: (5, 2.0), spec.INSTRUMENTS_PATH: (20, 2.0),
    spec.BOOKS_PATH: (40, 2.0), spec.FUNDING_RATE_PATH: (10, 2.0), spec.FUNDING_RATE_HISTORY_PATH: (10, 2.0),
    spec.MARK_PRICE_PATH: (10, 2.0), spec.INDEX_TICKERS_PATH: (20, 2.0), spec.SERVER_TIME_PATH: (10, 2.0),
}


def encode_query(params: Query) -> str:
    return urlencode(list(params))


def encode_body(body: Body) -> str:
    return json.dumps(body, separators=(",", ":"))


def _envelope(text: str) -> dict[str, Any] | None:
    try:
        body = decode_json(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("code"), str) else None


class OkxRestClient(SharedRestSession):
    """Async REST client for one OKX base URL (`https://openapi.okx.com` or an override)."""

    venue = "OKX"

    def __init__(self, base_url: str, *, clock: Clock, auth: OkxAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=5.0)
        self._sent: dict[str, deque[float]] = {}
        self.instruments: dict[str, Instrument] = {}  # by instId

    def __repr__(self) -> str:
        return f"OkxRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = ()) -> list[Any]:
        return await self._request("GET", path, params, None, signed=False, order_call=False, what=f"GET {path}")

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> list[Any]:
        return await self._request("GET", path, params, None, signed=True, order_call=False, what=what or f"GET {path}")

    async def post(self, path: str, body: Body, *, order_call: bool = False, items: bool = False,
                   what: str | None = None) -> list[Any]:
        """A signed POST; `items`: return a batch's rows (each with its sCode) even when some failed."""
        return await self._request("POST", path, (), body, signed=True, order_call=order_call,
                                   what=what or f"POST {path}", items=items)

    async def instrument(self, market: str) -> Instrument:
        """The market's swap (contract size, lot, tick), read once and kept."""
        inst_id = spec.to_venue_symbol(market)
        if inst_id not in self.instruments:
            rows = await self.public(spec.INSTRUMENTS_PATH, [("instType", spec.INST_TYPE), ("instId", inst_id)])
            self.instruments[inst_id] = parse_instrument(rows, market)
        return self.instruments[inst_id]

    async def sync_time(self) -> None:
        """Measure the server clock (GET /api/v5/public/time) and correct signed timestamps by it."""
        sent = self._clock.now()
        rows = await self.public(spec.SERVER_TIME_PATH)
        if self.auth is not None and rows:
            self.auth.update_time_offset(int(rows[0]["ts"]), sent, self._clock.now())
            log.info("OKX server clock offset %d ms", self.auth.time_offset_ms)

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(f"{what} was not sent: OKX refused this IP (HTTP 403); this IP is blocked for "
                                      f"another {left:.0f} s and order placement is stopped until then.")

    async def _wait_budget(self, path: str, weight: int, what: str) -> None:
        """Count this request in the endpoint's window; wait (or refuse) when it is used up."""
        limit = LIMITS.get(path)
        if limit is None:
            return
        count, window_s = limit
        sent = self._sent.setdefault(path, deque())
        now = self._clock.now()
        while sent and sent[0] <= now - window_s:
            sent.popleft()
        if len(sent) + weight > count and sent:
            self.limits.note(path, limit=count, remaining=0, reset_ts=sent[0] + window_s)
            missing = await self.limits.wait_turn(path)
            if missing > 0:
                raise RateLimited(f"{what} was not sent: OKX's limit of {count} per {window_s:g} s for {path} is used "
                                  f"up for another {missing:.1f} s. pmm backs off and retries.", retry_after=missing)
            now = self._clock.now()
            while sent and sent[0] <= now - window_s:
                sent.popleft()
        sent.extend([now] * weight)

    async def _request(self, method: str, path: str, params: Query, body: Body | None, *, signed: bool,
                       order_call: bool, what: str, items: bool = False) -> list[Any]:
        if signed and self.auth is None:
            raise AuthError(f"{what} needs OKX API keys: run `pmm connect {spec.CONNECTOR_ID}`.")
        await self.start()
        query = encode_query(params) if params else ""
        payload = encode_body(body) if body is not None else ""
        request_path = f"{path}{'?' + query if query else ''}"
        url = URL(f"{self.base_url}{request_path}", encoded=True)  # the signed bytes are the sent bytes
        weight = len(body) if isinstance(body, list) else 1
        resynced, retries = False, 0
        while True:
            self._check_ban(what)
            await self._wait_budget(path, weight, what)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if signed:
                assert self.auth is not None
                headers.update(self.auth.headers(method, request_path, payload))
            status, text, _ = await self._send(method, url, headers=headers, what=what, order_call=order_call,
                                               data=payload.encode() if body is not None else None)
            envelope = _envelope(text)
            code = int(envelope["code"]) if envelope is not None and envelope["code"].isdigit() else None
            msg = str(envelope.get("msg") or "") if envelope is not None else text.strip()[:200]
            rows = list(envelope.get("data") or []) if envelope is not None else []
            if status == 200 and code == 0:
                return rows
            if items and status == 200 and code in (1, 2) and rows:
                return rows  # a batch: each row carries its own sCode
            if code in (1, 2) and rows and str(rows[0].get("sCode", "")).isdigit():
                code, msg = int(rows[0]["sCode"]), str(rows[0].get("sMsg") or msg)  # the item's own reason
            if status == 403:
                self.limits.ban(IP_BAN_S)
                log.error("OKX answered HTTP 403 to %s: this IP is blocked for %.0f s", what, IP_BAN_S)
            if (code in RATE_LIMIT_CODES or status == 429) and retries < self._max_retries:
                retries += 1
                log.warning("rate limited on %s (code %s, HTTP %d); retrying in %.1f s (retry %d)", what, code,
                            status, _RETRY_WAIT_S, retries)
                await self._sleep(_RETRY_WAIT_S)
                continue
            if code in RESYNC_TIME_CODES and signed and not resynced:
                resynced = True
                log.warning("code %s on %s: re-syncing the server clock and retrying once", code, what)
                await self.sync_time()
                continue
            if envelope is None and 200 <= status < 300:
                if order_call:
                    raise OrderOutcomeUnknown(f"{what}: OKX answered HTTP {status} with no readable envelope; the "
                                              "order stays in flight until reconciliation settles it.")
                raise ExchangeUnavailable(f"{what}: OKX answered HTTP {status} with no readable envelope "
                                          f"({msg[:80]!r}). pmm retries.")
            raise translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                            retry_after=_RETRY_WAIT_S if code in RATE_LIMIT_CODES or status == 429 else None)
