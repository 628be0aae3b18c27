"""The HTTP side every venue REST client shares.

One aiohttp session per base URL, shared by a connector's feed and gateway (they share the venue's
limits as they share an IP and an account): each user `retain()`s it when it starts and
`release()`s it when it stops, and the last one to stop closes the session. A request that gets no
answer (a timeout, a dropped connection) becomes `OrderOutcomeUnknown` on an order call, never a
rejection, and `ExchangeUnavailable` elsewhere; so does a 2xx answer without the venue's
envelope (`unreadable`). The bytes a client signs are the bytes it sends: `encode_query`,
`encode_body` and `url` never re-encode. Signing, rate limits, retries and reading the venue's
replies are the venue's `rest.py` (a subclass of `SharedRestSession`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from pmm.errors import ExchangeUnavailable, OrderOutcomeUnknown, PmmError

Query = Sequence[tuple[str, str]]


def encode_query(params: Query) -> str:
    """The query string as sent and signed: call order kept, values percent-encoded once."""
    return urlencode(list(params))


def encode_body(body: Any) -> str:
    """The JSON body as sent and signed: compact, key order as given."""
    return json.dumps(body, separators=(",", ":"))


class SharedRestSession:
    """The session, its users and the transport of one venue REST client (see module docstring)."""

    venue: ClassVar[str]  # the display name: in the messages of requests that got no answer

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._users = 0

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def retain(self) -> None:
        """A feed or gateway starts using this client (they share one set of venue limits)."""
        self._users += 1

    async def close_if_unused(self) -> None:
        """Close the session if no feed or gateway holds it (e.g. after reads without start())."""
        if self._users == 0:
            await self.close()

    async def release(self) -> None:
        """The last user to stop closes the HTTP session."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.close()

    # --- transport ------------------------------------------------------------------------------

    def url(self, path: str, query: str) -> URL:
        """The request's URL with `query` exactly as signed (`encoded=True`: not encoded again)."""
        return URL(f"{self.base_url}{path}{'?' + query if query else ''}", encoded=True)

    def unreadable(self, status: int, text: str, *, what: str, order_call: bool) -> PmmError:
        """A 2xx answer without the venue's envelope: the order's outcome is unknown, else the
        venue is not answering properly."""
        if order_call:
            return OrderOutcomeUnknown(f"{what}: {self.venue} answered HTTP {status} with no readable envelope; "
                                       "the order stays in flight until reconciliation settles it.")
        return ExchangeUnavailable(f"{what}: {self.venue} answered HTTP {status} with no readable envelope "
                                   f"({text[:80]!r}).")

    async def _send(self, method: str, url: URL, *, headers: dict[str, str], what: str, order_call: bool,
                    data: bytes | None = None) -> tuple[int, str, Any]:
        """One HTTP exchange on the started session: (status, body text, response headers).

        No answer at all raises: `OrderOutcomeUnknown` for an order call (place / cancel), else
        `ExchangeUnavailable`.
        """
        assert self._session is not None, "start() the session first"
        try:
            async with self._session.request(method, url, data=data, headers=headers) as resp:
                return resp.status, await resp.text(), resp.headers
        except asyncio.CancelledError:
            raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = type(exc).__name__ if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            if order_call:
                raise OrderOutcomeUnknown(
                    f"{what}: no answer from {self.venue} ({reason}); the order stays in flight until "
                    "reconciliation settles it.") from None
            raise ExchangeUnavailable(
                f"{what}: no answer from {self.venue} at {self.base_url} ({reason}). "
                "Check the network (and the URL, if the config's `connector:` sets one).") from None
