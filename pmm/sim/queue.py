"""Queue position of our resting orders in a recorded market (`pmm backtest --queue`).

Without a queue model (the simulator's default) a print at our price fills us at once, as if we
were first in line. With one, an order that comes to rest joins the BACK of its price level: the
size the book shows there is ahead of it. Then, per price level of ours:

- a trade AT our price consumes the queue ahead first; only what is left of it reaches us;
- a trade THROUGH our price (a sell below our bid, a buy above our ask) fills us: the level was
  swept (up to the printed amount, as without a model);
- the level shrinking without a trade (cancels) moves us up, depending on the model:
  - `risk_averse`: no cancel is ahead of us; only when the level becomes smaller than the queue
    we believe is ahead do we move up to its size (hftbacktest's RiskAverseQueueModel);
  - `probabilistic`: a cancel of `d` is ahead of us with probability f(back) / (f(back) + f(front)),
    f(x) = x**3, front = the queue ahead, back = the rest of the level (hftbacktest's power
    probabilistic queue model): the more of the level is behind us, the likelier a cancel is there;
  - `trade_through`: the queue ahead never clears: a print at our price never fills us, only one
    through it (or the book crossing it) does: the most conservative reading of a recording;
- a snapshot resets nothing but caps the queue ahead at the level's new size;
- the book moving through our price (a crossing level) fills us as without a model.

`QueueTracker` keeps the size ahead of each resting order by client id; the venue calls it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from pmm.core.model import ClientOrderId, Side

QUEUE_MODELS: Final = ("risk_averse", "probabilistic", "trade_through")
_ZERO = Decimal(0)
_ENDLESS = Decimal("Infinity")  # `trade_through`: the queue ahead of every order
_POWER = 3


class QueueTracker:
    def __init__(self, model: str) -> None:
        if model not in QUEUE_MODELS:
            raise ValueError(f"queue model must be one of {', '.join(QUEUE_MODELS)}, was {model!r}")
        self.model = model
        self._ahead: dict[ClientOrderId, Decimal] = {}

    def join(self, client_id: ClientOrderId, visible_size: Decimal) -> None:
        """An order came to rest: everything visible at its price is ahead of it."""
        self._ahead[client_id] = _ENDLESS if self.model == "trade_through" else visible_size

    def leave(self, client_id: ClientOrderId) -> None:
        self._ahead.pop(client_id, None)

    def ahead(self, client_id: ClientOrderId) -> Decimal:
        return self._ahead.get(client_id, _ZERO)

    def reaching(self, client_id: ClientOrderId, amount: Decimal) -> Decimal:
        """A trade of `amount` at the order's own price: what is left of it after the queue ahead."""
        ahead = self._ahead.get(client_id, _ZERO)
        if ahead >= amount:
            self._ahead[client_id] = ahead - amount
            return _ZERO
        self._ahead[client_id] = _ZERO
        return amount - ahead

    def level_changed(self, client_id: ClientOrderId, old_size: Decimal, new_size: Decimal) -> None:
        """The book's size at the order's price went from `old_size` to `new_size` (not ours: the
        recorded book never holds our orders)."""
        ahead = self._ahead.get(client_id)
        if ahead is None or new_size >= old_size or ahead.is_infinite():
            return  # joined behind us (or, trading only through, nothing moves us up)
        if self.model == "probabilistic" and ahead > 0:
            cancelled = old_size - new_size
            back = old_size - ahead if old_size > ahead else _ZERO
            front_weight, back_weight = ahead**_POWER, back**_POWER
            p_behind = back_weight / (back_weight + front_weight)  # front_weight > 0 here
            ahead = ahead - (1 - p_behind) * cancelled
            if ahead < 0:
                ahead = _ZERO
        self._ahead[client_id] = ahead if ahead <= new_size else new_size

    def capped(self, client_id: ClientOrderId, level_size: Decimal) -> None:
        """A snapshot: the queue ahead is at most what the level now holds."""
        ahead = self._ahead.get(client_id)
        if ahead is not None and not ahead.is_infinite() and ahead > level_size:
            self._ahead[client_id] = level_size


def trade_reaches(side: Side, order_price: Decimal, trade_price: Decimal) -> tuple[bool, bool]:
    """(reaches, through) for our order on `side` and a print at `trade_price` on the side it hits."""
    if side is Side.BUY:
        return trade_price <= order_price, trade_price < order_price
    return trade_price >= order_price, trade_price > order_price
