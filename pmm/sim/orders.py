"""Our orders inside the venue: mutable order state, price-time priority lists, JSON codecs."""

from __future__ import annotations

from bisect import insort
from decimal import Decimal

from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    OrderPurpose,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionAction,
    PositionSide,
    Side,
)
from pmm.sim.num import dec


class SimOrder:
    """One accepted order. `reducing` orders (reduce-only, or hedge-mode closes) never open."""

    __slots__ = (
        "client_id",
        "exchange_id",
        "market",
        "side",
        "order_type",
        "price",
        "amount",
        "filled",
        "reduce_only",
        "position_side",
        "reducing",
        "created_ts",
        "seq",
        "is_open",
        "resting",
        "sort_key",
    )

    def __init__(
        self,
        request: OrderRequest,
        exchange_id: ExchangeOrderId,
        reducing: bool,
        created_ts: float,
        seq: int,
    ) -> None:
        self.client_id = request.client_id
        self.exchange_id = exchange_id
        self.market = request.market
        self.side = request.side
        self.order_type = request.order_type
        self.price = request.price
        self.amount = request.amount
        self.filled = Decimal(0)
        self.reduce_only = request.reduce_only
        self.position_side = request.position_side
        self.reducing = reducing
        self.created_ts = created_ts
        self.seq = seq
        self.is_open = True
        self.resting = False  # in the market's RestingOrders (a taker walk happens before)
        price = self.price if self.price is not None else Decimal(0)
        # Best first: bids by descending price, asks ascending; ties by arrival.
        self.sort_key = (-price, seq) if self.side is Side.BUY else (price, seq)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    def report(self) -> OrderReport:
        return OrderReport(
            client_id=self.client_id,
            exchange_id=self.exchange_id,
            market=self.market,
            side=self.side,
            order_type=self.order_type,
            price=self.price,
            amount=self.amount,
            filled=self.filled,
            status=OrderStatus.PARTIALLY_FILLED if self.filled else OrderStatus.OPEN,
            reduce_only=self.reduce_only,
            position_side=self.position_side,
            created_ts=self.created_ts,
        )

    def to_json(self) -> dict:
        return {
            "client_id": self.client_id,
            "exchange_id": self.exchange_id,
            "market": self.market,
            "side": self.side.value,
            "order_type": self.order_type.value,
            "price": None if self.price is None else str(self.price),
            "amount": str(self.amount),
            "filled": str(self.filled),
            "reduce_only": self.reduce_only,
            "position_side": self.position_side.value,
            "reducing": self.reducing,
            "created_ts": self.created_ts,
            "seq": self.seq,
            "resting": self.resting,
        }

    @classmethod
    def from_json(cls, data: dict) -> SimOrder:
        request = OrderRequest(
            client_id=ClientOrderId(data["client_id"]),
            market=data["market"],
            side=Side(data["side"]),
            order_type=OrderType(data["order_type"]),
            amount=dec(data["amount"]),
            price=None if data["price"] is None else dec(data["price"]),
            position_side=PositionSide(data["position_side"]),
            reduce_only=data["reduce_only"],
        )
        order = cls(request, ExchangeOrderId(data["exchange_id"]), data["reducing"], data["created_ts"], data["seq"])
        order.filled = dec(data["filled"])
        order.resting = data["resting"]
        return order


class RestingOrders:
    """Our resting orders on one market, each side in price-time priority (best first)."""

    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: list[SimOrder] = []
        self.asks: list[SimOrder] = []

    def side(self, side: Side) -> list[SimOrder]:
        return self.bids if side is Side.BUY else self.asks

    def add(self, order: SimOrder) -> None:
        insort(self.side(order.side), order, key=_priority)

    def remove(self, order: SimOrder) -> None:
        self.side(order.side).remove(order)

    def __bool__(self) -> bool:
        return bool(self.bids or self.asks)


def _priority(order: SimOrder) -> tuple[Decimal, int]:
    return order.sort_key


def request_to_json(request: OrderRequest) -> dict:
    return {
        "client_id": request.client_id,
        "market": request.market,
        "side": request.side.value,
        "order_type": request.order_type.value,
        "amount": str(request.amount),
        "price": None if request.price is None else str(request.price),
        "position_action": request.position_action.value,
        "position_side": request.position_side.value,
        "reduce_only": request.reduce_only,
        "purpose": request.purpose.value,
        "level": request.level,
    }


def request_from_json(data: dict) -> OrderRequest:
    return OrderRequest(
        client_id=ClientOrderId(data["client_id"]),
        market=data["market"],
        side=Side(data["side"]),
        order_type=OrderType(data["order_type"]),
        amount=dec(data["amount"]),
        price=None if data["price"] is None else dec(data["price"]),
        position_action=PositionAction(data["position_action"]),
        position_side=PositionSide(data["position_side"]),
        reduce_only=data["reduce_only"],
        purpose=OrderPurpose(data["purpose"]),
        level=data["level"],
    )
