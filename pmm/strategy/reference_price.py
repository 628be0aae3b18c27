"""The reference price (reference §2.1): which price the quotes are spread around.

Sources: the maker book (`current_market`), another market's book (`external_market`) or a
custom API price pushed by the engine (`custom_api`). Price types pick a number from the source.

Differences from the reference, on purpose:
- `last_own_trade_price` is the price of our last FILL (the engine passes fills to the strategy),
  not the limit price of the last completely filled order (§6.14).
- A custom price of None or <= 0 is "not ready" (§6.20), with the feed's own reason.
- A book that is not ready (resyncing) or has an empty side never gives a price: the result says
  why, and the caller does not quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmm.core.book import OrderBook
from pmm.strategy.params import PmmParams, PriceSource, PriceType
from pmm.strategy.views import StrategyView

BOOK_NOT_READY = "book not ready (resyncing)"
BOOK_EMPTY = "book empty: no bid or no ask"


@dataclass(frozen=True, slots=True)
class RefPrice:
    """The reference price, the price type actually used, and why there is none."""

    price: Decimal | None
    price_type: str  # the type actually used (a fallback to the mid says "mid_price")
    reason: str = ""  # set when price is None


def maker_book_problem(view: StrategyView) -> str | None:
    """Why the maker book cannot be quoted from, or None when it can."""
    if not view.book_ready:
        return BOOK_NOT_READY
    if view.book.is_empty:
        return BOOK_EMPTY
    return None


def _price_by_type(book: OrderBook, price_type: PriceType, last_own: Decimal | None) -> RefPrice:
    """One price of a ready, two-sided book. Missing last prices fall back to the mid (as §2.1)."""
    if price_type is PriceType.BEST_BID:
        return RefPrice(book.best_bid, PriceType.BEST_BID.value)
    if price_type is PriceType.BEST_ASK:
        return RefPrice(book.best_ask, PriceType.BEST_ASK.value)
    if price_type is PriceType.LAST_PRICE:
        last = book.last_trade_price
        if last is not None and last > 0:
            return RefPrice(last, PriceType.LAST_PRICE.value)
    elif price_type is PriceType.LAST_OWN_TRADE_PRICE:
        if last_own is not None:
            return RefPrice(last_own, PriceType.LAST_OWN_TRADE_PRICE.value)
    # mid_price, "custom" on a book source (the config refuses it; be lenient), and fallbacks
    return RefPrice(book.mid, PriceType.MID_PRICE.value)


def reference_price(params: PmmParams, view: StrategyView, last_own: Decimal | None) -> RefPrice:
    """The reference price of `view` under `params`, or None with the reason it is not known.

    `last_own` is the price of our last fill (None before the first one).
    """
    source = params.price_source
    if source is PriceSource.CUSTOM_API:
        price = view.custom_price
        if price is None:
            why = view.custom_price_reason or "no custom API price yet"
            return RefPrice(None, PriceType.CUSTOM.value, f"price source not ready: {why}")
        if price <= 0:
            why = view.custom_price_reason or f"custom API price {price} is not positive"
            return RefPrice(None, PriceType.CUSTOM.value, f"price source not ready: {why}")
        return RefPrice(price, PriceType.CUSTOM.value)

    if source is PriceSource.EXTERNAL_MARKET:
        book = view.external_book
        if book is None:
            return RefPrice(None, params.price_type.value, "price source not ready: no external book")
        if not view.external_ready:
            why = view.external_reason or "external book not ready (resyncing)"
            return RefPrice(None, params.price_type.value, f"price source not ready: {why}")
        if book.is_empty:
            return RefPrice(
                None, params.price_type.value, "price source not ready: external book empty: no bid or no ask"
            )
    else:
        problem = maker_book_problem(view)
        if problem is not None:
            return RefPrice(None, params.price_type.value, problem)
        book = view.book

    ref = _price_by_type(book, params.price_type, last_own)
    if ref.price is None or ref.price <= 0:
        return RefPrice(None, ref.price_type, f"price source not ready: {ref.price_type} {ref.price} is not positive")
    return ref
