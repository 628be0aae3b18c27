"""Bitget's order book checksum, and the local book of price and size TEXTS it is computed over.

Bitget (Order Book Channel, "Calculate Checksum"): take the first 25 bids and asks, alternate them
`bid1px:bid1sz:ask1px:ask1sz:bid2px:...` (when one side is shorter its missing entries are skipped),
and take the CRC32 of that string as a SIGNED 32-bit integer. The prices and sizes are the
original strings as sent ("0.5000" stays "0.5000"), so the book keeps the text of each level as it
last arrived. The feed checks every `update` against it (a mismatch is a resync); the venue server
computes the checksum it sends with the same function.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal

from pmm.connectors.bitget_perpetual import spec

TextLevel = tuple[str, str]  # (price text, size text)


def crc32_signed(text: str) -> int:
    value = zlib.crc32(text.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def checksum(bids: Sequence[TextLevel], asks: Sequence[TextLevel], depth: int = spec.CHECKSUM_DEPTH) -> int:
    """The signed CRC32 of the top `depth` levels, bids and asks alternating (best first)."""
    parts: list[str] = []
    for i in range(depth):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return crc32_signed(":".join(parts))


class TextBook:
    """One market's book as Bitget's texts: price -> (price text, size text) per side."""

    def __init__(self) -> None:
        self._bids: dict[Decimal, TextLevel] = {}
        self._asks: dict[Decimal, TextLevel] = {}

    def reset(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        self._bids.clear()
        self._asks.clear()
        self.apply(bids, asks)

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Levels `[price, size]` as texts; size 0 removes the level."""
        for side, rows in ((self._bids, bids), (self._asks, asks)):
            for row in rows:
                price_text, size_text = str(row[0]), str(row[1])
                price = Decimal(price_text)
                if Decimal(size_text) == 0:
                    side.pop(price, None)
                else:
                    side[price] = (price_text, size_text)

    def top(self, depth: int = spec.CHECKSUM_DEPTH) -> tuple[list[TextLevel], list[TextLevel]]:
        bids = [self._bids[p] for p in sorted(self._bids, reverse=True)[:depth]]
        asks = [self._asks[p] for p in sorted(self._asks)[:depth]]
        return bids, asks

    def checksum(self) -> int:
        return checksum(*self.top())
