"""The Gate APIv4 futures REST client: signing, the venue's rate-limit headers, time sync, errors,
contracts.

One instance per base URL, shared by the feed and the gateway (one account, one IP, one set of
limits; the session is `common/rest_session.py`'s). A success is any 2xx with the JSON answer
itself (an object or a list: Gate has no envelope); a refusal is a non-2xx with
`{"label", "message"}`, turned into a `pmm.errors` class through the one table in `errors.py`.
What the rest of the connector relies on:

- GET and DELETE parameters go in the query string (as do the leverage and dual-mode settings, as
  Gate wants them), POST bodies are compact JSON; the signature covers exactly the bytes sent;
- every request asks for decimal sizes (`X-Gate-Size-Decimal: 1`);
- Gate's rate-limit headers (`X-Gate-RateLimit-Requests-Remain`, `-Limit`, `-Reset-Timestamp`) are
  obeyed: a request to an endpoint whose budget is used up waits for the reset instead of earning
  a TOO_MANY_REQUESTS; one anyway (HTTP 429) waits a second and retries (`max_retries`);
- REQUEST_EXPIRED (the Timestamp more than 60 s off) re-measures the server clock once and retries;
- HTTP 403 (Gate refuses this IP) stops every request, order placement included, for `IP_BAN_S`
  with an `ExchangeUnavailable` that says so, without sending anything;
- a timeout or dropped connection on an order call is `OrderOutcomeUnknown`, never a rejection.

It also keeps the contracts (contract sizes) the feed and the gateway both convert with.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from yarl import URL

from pmm.connectors.common.rate_limits import RateLimiter, Sleep
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import GateAuth
from pmm.connectors.gate_io_perpetual.errors import RATE_LIMIT_LABELS, RESYNC_TIME_LABELS, translate
from pmm.connectors.gate_io_perpetual.parse import Contract, parse_contract
from pmm.core.clock import Clock
from pmm.errors import AuthError, ExchangeUnavailable, OrderOutcomeUnknown

log = logging.getLogger("pmm.gate.rest")

Query = Sequence[tuple[str, str]]

IP_BAN_S = 60.0  # Gate names no duration for a refused IP: a minute before trying again
_RETRY_WAIT_S = 1.0


def encode_query(params: Query) -> str:
    return urlencode(list(params))


def encode_body(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def _refusal(text: str) -> tuple[str | None, str]:
    """(label, message) of a refusal body; (None, the text) when it is not Gate's shape."""
    try:
        body = decode_json(text)
    except ValueError:
        return None, text.strip()[:200]
    if isinstance(body, dict) and isinstance(body.get("label"), str):
        return body["label"], str(body.get("message") or body.get("detail") or "")
    return None, text.strip()[:200]


class GateRestClient(SharedRestSession):
    """Async REST client for one Gate base URL (`https://api.gateio.ws` or an override)."""

    venue = "Gate"

    def __init__(self, base_url: str, *, clock: Clock, auth: GateAuth | None = None, timeout_s: float = 10.0,
                 max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.auth = auth
        self._clock = clock
        self._max_retries = max_retries
        self._sleep = sleep
        self.limits = RateLimiter(clock, sleep, max_wait_s=5.0)
        self.contracts: dict[str, Contract] = {}  # by Gate contract name

    def __repr__(self) -> str:
        return f"GateRestClient({self.base_url!r}, auth={self.auth!r})"

    # --- public API -----------------------------------------------------------------------------

    async def public(self, path: str, params: Query = ()) -> Any:
        return await self._request("GET", path, params, None, signed=False, order_call=False, what=f"GET {path}")

    async def get(self, path: str, params: Query = (), *, what: str | None = None) -> Any:
        return await self._request("GET", path, params, None, signed=True, order_call=False, what=what or f"GET {path}")

    async def post(self, path: str, body: Any = None, params: Query = (), *, order_call: bool = False,
                   what: str | None = None) -> Any:
        return await self._request("POST", path, params, body, signed=True, order_call=order_call,
                                   what=what or f"POST {path}")

    async def delete(self, path: str, params: Query = (), *, order_call: bool = False, what: str | None = None) -> Any:
        return await self._request("DELETE", path, params, None, signed=True, order_call=order_call,
                                   what=what or f"DELETE {path}")

    async def contract(self, market: str) -> Contract:
        """The market's perpetual (contract size, tick, minimum), read once and kept."""
        name = spec.to_venue_symbol(market)
        if name not in self.contracts:
            row = await self.public(f"{spec.CONTRACTS_PATH}/{name}")
            self.contracts[name] = parse_contract(row, market)
        return self.contracts[name]

    async def sync_time(self) -> None:
        """Measure the server clock (GET /api/v4/spot/time) and correct signed timestamps by it."""
        sent = self._clock.now()
        body = await self.public(spec.SERVER_TIME_PATH)
        if self.auth is not None and isinstance(body, Mapping) and "server_time" in body:
            self.auth.update_time_offset(int(body["server_time"]), sent, self._clock.now())
            log.info("Gate server clock offset %d ms", self.auth.time_offset_ms)

    # --- internals ------------------------------------------------------------------------------

    def _check_ban(self, what: str) -> None:
        left = self.limits.ban_left()
        if left > 0:
            raise ExchangeUnavailable(f"{what} was not sent: Gate refused this IP (HTTP 403); this IP is blocked for "
                                      f"another {left:.0f} s and order placement is stopped until then.")

    def _note_limits(self, key: str, headers: Mapping[str, str]) -> None:
        """Remember what Gate says is left of this endpoint's budget, and when it refills."""
        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(value) if value is not None else None
            except ValueError:
                return None

        remaining, limit, reset_ms = (number(h) for h in (spec.RATE_REMAIN_HEADER, spec.RATE_LIMIT_HEADER,
                                                          spec.RATE_RESET_HEADER))
        if remaining is not None or limit is not None:
            self.limits.note(key, limit=limit, remaining=remaining,
                             reset_ts=reset_ms / 1000 if reset_ms is not None else None)

    async def _request(self, method: str, path: str, params: Query, body: Any, *, signed: bool,
                       order_call: bool, what: str) -> Any:
        if signed and self.auth is None:
            raise AuthError(f"{what} needs Gate API keys: run `pmm connect {spec.CONNECTOR_ID}`.")
        await self.start()
        query = encode_query(params) if params else ""
        payload = encode_body(body) if body is not None else ""
        url = URL(f"{self.base_url}{path}{'?' + query if query else ''}", encoded=True)  # signed bytes = sent
        key = f"{method} {path}"
        resynced, retries = False, 0
        while True:
            self._check_ban(what)
            missing = await self.limits.wait_turn(key)
            if missing > 0:
                raise translate(what=what, status=429, label="TOO_MANY_REQUESTS", order_call=order_call,
                                msg=f"not sent: Gate's budget for {path} is used up for another {missing:.1f} s",
                                retry_after=missing)
            headers = {"Accept": "application/json", spec.SIZE_DECIMAL_HEADER: "1"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            if signed:
                assert self.auth is not None
                headers.update(self.auth.headers(method, path, query, payload))
            status, text, reply_headers = await self._send(method, url, headers=headers, what=what,
                                                           order_call=order_call,
                                                           data=payload.encode() if body is not None else None)
            self._note_limits(key, reply_headers)
            if 200 <= status < 300:
                try:
                    return decode_json(text) if text.strip() else None
                except ValueError:
                    if order_call:
                        raise OrderOutcomeUnknown(
                            f"{what}: Gate answered HTTP {status} with a body that is not JSON; the order stays in "
                            "flight until reconciliation settles it.") from None
                    raise ExchangeUnavailable(f"{what}: Gate answered HTTP {status} with a body that is not JSON "
                                              f"({text[:80]!r}). pmm retries.") from None
            label, msg = _refusal(text)
            if status == 403:
                self.limits.ban(IP_BAN_S)
                log.error("Gate answered HTTP 403 to %s: this IP is blocked for %.0f s", what, IP_BAN_S)
            if (label in RATE_LIMIT_LABELS or status == 429) and retries < self._max_retries:
                retries += 1
                log.warning("rate limited on %s (label %s, HTTP %d); retrying in %.1f s (retry %d)", what, label,
                            status, _RETRY_WAIT_S, retries)
                await self._sleep(_RETRY_WAIT_S)
                continue
            if label in RESYNC_TIME_LABELS and signed and not resynced:
                resynced = True
                log.warning("%s on %s: re-syncing the server clock and retrying once", label, what)
                await self.sync_time()
                continue
            raise translate(what=what, status=status, label=label, msg=msg, order_call=order_call,
                            retry_after=_RETRY_WAIT_S if label in RATE_LIMIT_LABELS or status == 429 else None)
