"""BitMEX's table protocol on the client side: `partial`, `insert`, `update`, `delete`.

Every table a socket subscribes to starts with a `partial` (the whole table, with its `keys`); after
it, `insert` adds rows, `update` changes fields of rows named by their keys (an update row carries
the keys and only the fields that changed), `delete` removes rows. Nothing has a sequence number: a
row that an update or delete names but the table does not hold, or an insert of a row it already
holds, means the client missed a message, and the table is no longer true (`TableGap`): the caller
resubscribes for a new partial. Messages that come before the table's partial are dropped (BitMEX:
"ignore all messages until the partial").

`KeyedTable` is that merge for the account tables (position, margin) kept as whole rows;
`BookTable` is the `orderBookL2` view: rows keyed by (symbol, id, side) whose price never changes
after the insert (BitMEX), turned into price levels in base units for pmm's book.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.bitmex_perpetual.parse import Instrument
from pmm.connectors.common.payloads import Payload, UnmappedValue, dec
from pmm.core.events import Level

Row = dict[str, Any]


class TableGap(Exception):
    """A table message does not fit the rows held: resubscribe for a new partial."""


class KeyedTable:
    """One table's rows by key, merged from partial/insert/update/delete (see module docstring)."""

    def __init__(self, name: str, keys: Sequence[str] = ()) -> None:
        self.name = name
        self.keys: tuple[str, ...] = tuple(keys)
        self.rows: dict[tuple[Any, ...], Row] = {}
        self.ready = False  # a partial arrived since the last (re)subscription

    def reset(self) -> None:
        self.ready = False
        self.rows.clear()

    def _key(self, row: Payload) -> tuple[Any, ...]:
        return tuple(row.get(k) for k in self.keys)

    def apply(self, message: Payload) -> list[Row]:
        """Apply one message; returns the rows it touched as they now are (deleted rows as sent).

        Messages before the partial return nothing. Raises TableGap on an update or delete of an
        unknown row (the table is reset first)."""
        action = message.get("action")
        data: Iterable[Payload] = message.get("data") or ()
        if action == "partial":
            self.keys = tuple(message.get("keys") or self.keys)
            self.rows = {self._key(r): dict(r) for r in data}
            self.ready = True
            return list(self.rows.values())
        if not self.ready:
            return []
        touched: list[Row] = []
        for row in data:
            key = self._key(row)
            if action == "insert":
                self.rows[key] = dict(row)
                touched.append(self.rows[key])
            elif action == "update":
                held = self.rows.get(key)
                if held is None:
                    self.reset()
                    raise TableGap(f"{self.name}: update of a row not held ({dict(zip(self.keys, key, strict=True))})")
                held.update(row)
                touched.append(held)
            elif action == "delete":
                if self.rows.pop(key, None) is None:
                    self.reset()
                    raise TableGap(f"{self.name}: delete of a row not held ({dict(zip(self.keys, key, strict=True))})")
                touched.append(dict(row))
            else:
                raise UnmappedValue(f"unknown BitMEX table action {action!r}")
        return touched


class BookTable:
    """One symbol's `orderBookL2` rows: id -> (is bid, price, size in contracts)."""

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.levels: dict[tuple[int, str], tuple[Decimal, Decimal]] = {}
        self.ready = False

    def reset(self) -> None:
        self.ready = False
        self.levels.clear()

    @staticmethod
    def _side(row: Payload) -> str:
        side = row.get("side")
        if side not in ("Buy", "Sell"):
            raise UnmappedValue(f"unknown BitMEX book side {side!r}")
        return str(side)

    def _level(self, price: Decimal, contracts: Decimal) -> Level:
        if price <= 0 or contracts < 0:
            raise ValueError(f"impossible order book level: price {price}, size {contracts}")
        return price, self.inst.to_base(contracts)

    def snapshot(self, rows: Iterable[Payload]) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """A partial: the whole book, (bids high to low, asks low to high) in base units."""
        self.levels = {(int(r["id"]), self._side(r)): (dec(r["price"]), dec(r["size"])) for r in rows}
        self.ready = True
        return self.sides()

    def sides(self) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        bids = sorted(((p, s) for (_, side), (p, s) in self.levels.items() if side == "Buy"), reverse=True)
        asks = sorted((p, s) for (_, side), (p, s) in self.levels.items() if side == "Sell")
        return (tuple(self._level(p, s) for p, s in bids), tuple(self._level(p, s) for p, s in asks))

    def change(self, action: str, rows: Iterable[Payload]) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """insert / update / delete -> the changed levels (size 0 removes a price). TableGap when a
        row does not fit the book held (the book is reset first)."""
        bids: list[Level] = []
        asks: list[Level] = []
        for row in rows:
            key = (int(row["id"]), self._side(row))
            held = self.levels.get(key)
            if action == "insert":
                if held is not None:
                    self._gap(f"insert of level id {key[0]} already held")
                price, size = dec(row["price"]), dec(row["size"])
                self.levels[key] = (price, size)
            elif action == "update":
                if held is None:
                    self._gap(f"update of level id {key[0]} not held")
                assert held is not None
                price, size = held[0], dec(row["size"])  # an update never moves a level's price
                self.levels[key] = (price, size)
            elif action == "delete":
                if held is None:
                    self._gap(f"delete of level id {key[0]} not held")
                assert held is not None
                price, size = held[0], Decimal(0)
                del self.levels[key]
            else:
                raise UnmappedValue(f"unknown BitMEX book action {action!r}")
            (bids if key[1] == "Buy" else asks).append(self._level(price, size))
        return tuple(bids), tuple(asks)

    def _gap(self, reason: str) -> None:
        self.reset()
        raise TableGap(f"orderBookL2 {self.inst.symbol}: {reason}")
