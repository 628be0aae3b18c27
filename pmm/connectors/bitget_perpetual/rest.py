"""The Bitget mix v2 REST client: envelope, signing, per-endpoint rate limits, time sync, errors,
and the contracts both the feed and the gateway read.

One instance per base URL, shared by the feed and the gateway (one account, one IP, one set of
limits; the session is `common/rest_session.py`'s). Every reply is `{"code", "msg", "requestTime",
"data"}`; `data` (an object or a list, as the endpoint answers) is returned on code "00000",
anything else becomes a `pmm.errors` class through the one table in `errors.py`. What the rest of
the connector relies on:

- GET parameters go in the query string, POST bodies are compact JSON objects; the signature
  covers exactly the bytes sent (`auth.py`);
- each endpoint's documented budget (`LIMITS`, requests per second per UID or IP) is counted here:
  a request that would exceed it waits for the window instead of earning a 429; a 429 anyway waits
  a second and retries (`max_retries`); the `x-mbx-used-remain-limit` header Bitget sends is kept
  in `remaining` for the logs;
- 40005 / 40008 / 40078 (timestamp) re-measure the server clock once and retry;
- HTTP 403 (Bitget refuses this IP) stops every request, order placement included, for
  `IP_BAN_S` with an `ExchangeUnavailable` that says so, without sending anything;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.
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

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.auth import BitgetAuth
from pmm.connectors.bitget_perpetual.errors import OK, RATE_LIMIT_CODES, RESYNC_TIME_CODES, translate
from pmm.connectors.bitget_perpetual.parse import Contract, parse_contract
from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, OrderOutcomeUnknown, RateLimited

log = logging.getLogger("pmm.bitget.rest")

Query = Sequence[tuple[str, str]]

IP_BAN_S = 300.0  # Bitget's over-limit penalty is five minutes (exchange_apis_more.md §J5)
_RETRY_WAIT_S = 1.0  # Bitget's windows are one second
REMAINING_HEADER = "x-mbx-used-remain-limit"

# Documented budgets: path -> (requests per window, window in seconds).
LIMITS: dict[str, tuple[int, float]] = {
    spec.PLACE_ORDER_PATH: (10, 1.0), spec.CANCEL_ORDER_PATH: (10, 1.0), spec.BATCH_CANCEL_PATH: (10, 1.0),
    spec.CANCEL_ALL_PATH: (10, 1.0), spec.PLACE_PLAN_PATH: (10, 1.0), spec.CANCEL_PLAN_PATH: (10, 1.0),
    spec.ORDER_DETAIL_PATH: (10, 1.0), spec.ORDERS_PENDING_PATH: (10, 1.0), spec.ORDERS_HISTORY_PATH: (10, 1.0),
    spec.PLAN_PENDING_PATH: (10, 1.0), spec.FILLS_PATH: (10, 1.0), spec.FILL_HISTORY_PATH: (10, 1.0),
    spec.ACCOUNTS_PATH: (10, 1.0), spec.ACCOUNT_PATH: (10, 1.0), spec.ALL_POSITION_PATH: (5, 1.0),
    spec.SET_LEVERAGE_PATH: (5, 1.0), spec.SET_MARGIN_MODE_PATH: (5, 1.0), spec.SET_POSITION_MODE_PATH: (5, 1.0),
    spec.BILL_PATH: (10, 1.0), spec.CONTRACTS_PATH: (20, 1.0), spec.MERGE_DEPTH_PATH: (20, 1.0),
    spec.TICKER_PATH: (20, 1.0), spec.CURRENT_FUND_RATE_PATH: (20, 1.0), spec.HISTORY_FUND_RATE_PATH: (20, 1.0),
    spec.SERVER_TIME_PATH: (20, 1.0),
}


def encode_query(params: Query) -> str:
    return urlencode(list(params))


def encode_body(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def _envelope(text: str) -> dict[str, Any] | None:
    try:
        body = decode_json(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("code"), str) else None


class BitgetRestClient(SharedRestSession):
    """Async REST client for one Bitget base URL (`https://api.bitget.com` or an override)."""

    venue = "Bitget"

    def __init__(self, base_url: str, *, clock: Clock, auth: BitgetAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=5.0)
        self._sent: dict[str, deque[float]] = {}
        self.contracts: dict[str, Contract] = {}  # by symbol
        self.remaining: str | None = None  # the last x-mbx-used-remain-limit Bitget sent

    def __repr__(self) -> str:
        return f"BitgetRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = ()) -> Any:
        return await self._request("GET", path, params, None, signed=False, order_call=False, what=f"GET {path}")

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> Any:
        return await self._request("GET", path, params, None, signed=True, order_call=False, what=what or f"GET {path}")

    async def post(self, path: str, body: dict[str, Any], *, order_call: bool = False, what: str | None = None) -> Any:
        return await self._request("POST", path, (), body, signed=True, order_call=order_call,
                                   what=what or f"POST {path}")

    async def contract(self, market: str) -> Contract:
        """The market's USDT-M perpetual (tick, size step, minimums), read once and kept."""
        symbol = spec.to_venue_symbol(market)
        if symbol not in self.contracts:
            rows = await self.public(spec.CONTRACTS_PATH, [("productType", spec.PRODUCT_TYPE), ("symbol", symbol)])
            self.contracts[symbol] = parse_contract(rows or [], market)
        return self.contracts[symbol]

    async def sync_time(self) -> None:
        """Measure the server clock (GET /api/v2/public/time) and correct signed timestamps by it."""
        sent = self._clock.now()
        data = await self.public(spec.SERVER_TIME_PATH)
        if self.auth is not None and isinstance(data, dict) and data.get("serverTime"):
            self.auth.update_time_offset(int(data["serverTime"]), sent, self._clock.now())
            log.info("Bitget server clock offset %d ms", self.auth.time_offset_ms)

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(f"{what} was not sent: Bitget refused this IP (HTTP 403); this IP is blocked "
                                      f"for another {left:.0f} s and order placement is stopped until then.")

    async def _wait_budget(self, path: str, what: str) -> None:
        """Count this request in the endpoint's window; wait (or refuse) when it is used up."""
        limit = LIMITS.get(path)
        if limit is None:
            return
        count, window_s = limit
        sent = self._sent.setdefault(path, deque())
        now = self._clock.now()
        while sent and sent[0] <= now - window_s:
            sent.popleft()
        if len(sent) + 1 > count and sent:
            self.limits.note(path, limit=count, remaining=0, reset_ts=sent[0] + window_s)
            missing = await self.limits.wait_turn(path)
            if missing > 0:
                raise RateLimited(f"{what} was not sent: Bitget's limit of {count} per {window_s:g} s for {path} is "
                                  f"used up for another {missing:.1f} s. pmm backs off and retries.",
                                  retry_after=missing)
            now = self._clock.now()
            while sent and sent[0] <= now - window_s:
                sent.popleft()
        sent.append(now)

    async def _request(self, method: str, path: str, params: Query, body: dict[str, Any] | None, *, signed: bool,
                       order_call: bool, what: str) -> Any:
        if signed and self.auth is None:
            raise AuthError(f"{what} needs Bitget API keys: run `pmm connect {spec.CONNECTOR_ID}`.")
        await self.start()
        query = encode_query(params) if params else ""
        payload = encode_body(body) if body is not None else ""
        request_path = f"{path}{'?' + query if query else ''}"
        url = URL(f"{self.base_url}{request_path}", encoded=True)  # the signed bytes are the sent bytes
        resynced, retries = False, 0
        while True:
            self._check_ban(what)
            await self._wait_budget(path, what)
            headers = {"Content-Type": "application/json"}
            if signed:
                assert self.auth is not None
                headers.update(self.auth.headers(method, request_path, payload))
            elif self.auth is not None and self.auth.demo:
                headers[spec.DEMO_HEADER] = "1"
            status, text, reply_headers = await self._send(method, url, headers=headers, what=what,
                                                           order_call=order_call,
                                                           data=payload.encode() if body is not None else None)
            self.remaining = reply_headers.get(REMAINING_HEADER) if reply_headers is not None else None
            envelope = _envelope(text)
            raw_code = envelope["code"] if envelope is not None else ""
            code = int(raw_code) if raw_code.isdigit() else None
            msg = str(envelope.get("msg") or "") if envelope is not None else text.strip()[:200]
            if status == 200 and raw_code == OK:
                return envelope.get("data") if envelope is not None else None
            if status == 403:
                self.limits.ban(IP_BAN_S)
                log.error("Bitget answered HTTP 403 to %s: this IP is blocked for %.0f s", what, IP_BAN_S)
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
                    raise OrderOutcomeUnknown(f"{what}: Bitget answered HTTP {status} with no readable envelope; the "
                                              "order stays in flight until reconciliation settles it.")
                raise ExchangeUnavailable(f"{what}: Bitget answered HTTP {status} with no readable envelope "
                                          f"({msg[:80]!r}). pmm retries.")
            raise translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                            retry_after=_RETRY_WAIT_S if code in RATE_LIMIT_CODES or status == 429 else None)
