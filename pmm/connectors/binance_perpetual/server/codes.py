"""Errors the Binance server answers with, and the ONE table from the simulator's rejection codes
(pmm/sim/validation.py) to Binance's numeric codes (exchange_apis.md §A8).

Every refusal is a `BinanceApiError`: an HTTP status plus Binance's body `{"code": -N, "msg": "..."}`
(dialect.py) with the documented message text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.common.numbers import plain
from pmm.connectors.common.server.wire import WireError


class BinanceApiError(WireError):
    """A refusal as Binance sends it (the kit's `WireError` with Binance's default HTTP status for
    the code). `headers` are added to the HTTP answer (Retry-After)."""

    def __init__(self, code: int, msg: str, status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, msg, status if status is not None else c.ERROR_HTTP_STATUS.get(code, 400),
                         headers=headers)


def api_error(code: int, status: int | None = None, **fields: object) -> BinanceApiError:
    """The error for `code` with its documented message, placeholders filled from `fields`."""
    template = c.ERROR_MESSAGES.get(code, "NEW_ORDER_REJECTED")
    try:
        msg = template.format(**fields)
    except (KeyError, IndexError):
        msg = template
    return BinanceApiError(code, msg, status)


def missing(param: str) -> BinanceApiError:
    return api_error(E.MANDATORY_PARAM_EMPTY_OR_MALFORMED, param=param)


def invalid(param: str) -> BinanceApiError:
    return api_error(E.INVALID_PARAMETER, param=param)


# Simulator rejection code -> Binance code. The only mapping; tested case by case.
REJECTION_CODES: Final[dict[str, int]] = {
    "unknown_market": E.BAD_SYMBOL,
    "duplicate_client_id": E.DUPLICATED_CLIENT_ORDER_ID,
    "invalid_amount": E.QTY_LESS_THAN_ZERO,
    "off_step": E.QTY_NOT_INCREASED_BY_STEP_SIZE,  # -1111 instead when it has too many decimals
    "invalid_price": E.PRICE_LESS_THAN_ZERO,
    "off_tick": E.PRICE_NOT_INCREASED_BY_TICK_SIZE,
    "position_side_mismatch": E.POSITION_SIDE_NOT_MATCH,
    "below_min_size": E.QTY_LESS_THAN_MIN_QTY,
    "below_min_notional": E.MIN_NOTIONAL,
    "no_liquidity": c.ERR_NO_DEPTH,
    "reduce_only_rejected": E.REDUCE_ONLY_REJECT,
    "post_only_would_cross": E.GTX_ORDER_REJECT,
    "insufficient_margin": E.MARGIN_NOT_SUFFICIENT,
}


def rejection_error(
    sim_code: str | None, *, amount: Decimal, qty_places: int, min_notional: Decimal
) -> BinanceApiError:
    """The Binance answer to an order the simulator rejected with `sim_code`."""
    code = REJECTION_CODES.get(sim_code or "", E.NEW_ORDER_REJECTED)
    if sim_code == "off_step" and _places(amount) > qty_places:
        code = E.BAD_PRECISION  # what Binance says when a quantity carries too many decimals
    return api_error(code, notional=plain(min_notional))


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
