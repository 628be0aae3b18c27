"""`price_source: custom_api`: poll a URL that answers a plain-text number.

Anything but a finite positive number (an error status, garbage, NaN, zero, a huge body, a timeout)
makes the source not ready, and the strategy stops quoting with the reason shown. Messages (the
log, `status`, the store) show the URL masked: it often carries a token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import aiohttp

from pmm.core.clock import Clock
from pmm.core.events import Event, ExternalPriceUpdated
from pmm.core.urls import mask_url, mask_urls

log = logging.getLogger("pmm.custom_api")

_MAX_BODY = 1024
_MAX_EXPONENT = 12  # a price above 10^12 is garbage, not a market


def parse_price(body: str) -> tuple[Decimal | None, str]:
    text = body.strip()
    try:
        price = Decimal(text)
    except (InvalidOperation, ValueError):
        return None, f"custom API answered {text[:40]!r}, not a number"
    if not price.is_finite() or price <= 0:
        return None, f"custom API answered {text[:40]!r}, not a positive price"
    if price.adjusted() > _MAX_EXPONENT:
        return None, f"custom API answered {text[:40]!r}, not a plausible price"
    return price, "custom API price"


class CustomApiPriceSource:
    def __init__(self, url: str, interval_s: float, clock: Clock, emit: Callable[[Event], None],
                 timeout_s: float = 5.0) -> None:
        self._url = url
        self._shown = mask_url(url)  # in messages
        self._interval = interval_s
        self._clock = clock
        self._emit = emit
        self._timeout = timeout_s

    async def fetch_once(self, session: aiohttp.ClientSession) -> tuple[Decimal | None, str]:
        try:
            async with session.get(self._url, timeout=aiohttp.ClientTimeout(total=self._timeout)) as resp:
                if resp.status != 200:
                    return None, f"custom API {self._shown} answered HTTP {resp.status}"
                body = await resp.content.read(_MAX_BODY + 1)
                if len(body) > _MAX_BODY:
                    return None, f"custom API {self._shown} answered more than {_MAX_BODY} bytes"
                return parse_price(body.decode("utf-8", "replace"))
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            detail = mask_urls(str(exc))  # aiohttp names the URL in some of its errors
            return None, f"custom API {self._shown} unreachable: {exc.__class__.__name__} {detail}".strip()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                price, reason = await self.fetch_once(session)
                now = self._clock.now()
                if price is None:
                    log.warning("%s", reason)
                self._emit(ExternalPriceUpdated("custom_api", price, reason, now, now))
                await asyncio.sleep(self._interval)
