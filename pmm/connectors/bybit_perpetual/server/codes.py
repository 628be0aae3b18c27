"""Errors the Bybit server answers with, and the ONE table from the simulator's rejection codes
(pmm/sim/validation.py) to Bybit's retCodes (exchange_apis.md §B4).

Business errors are HTTP 200 with a non-zero `retCode` in the usual envelope. Two refusals are not
errors on Bybit: a PostOnly order that would take liquidity and a market order that finds nothing
to take are ACCEPTED (the REST answer carries an orderId) and then closed as Cancelled with a
`rejectReason` (`EC_PostOnlyWillTakeLiquidity`, `EC_NoImmediateQtyToFill`) on the order topic and in
order/realtime. The table says which of the two each simulator code becomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.common.server.wire import WireError


class BybitApiError(WireError):
    """A refusal as Bybit sends it: HTTP status, retCode, retMsg (and the `result` as `data`, extra
    headers, or a plain-text body instead of the envelope: the 403 of an IP ban). The kit's
    middleware answers it."""

    def __init__(self, ret_code: int, ret_msg: str, status: int = 200, headers: dict[str, str] | None = None,
                 text: str | None = None) -> None:
        super().__init__(ret_code, ret_msg, status, data={}, headers=headers, text=text)


def api_error(code: int, msg: str | None = None, status: int = 200, **fields: object) -> BybitApiError:
    """The error for `code` with its documented message (or `msg`), placeholders from `fields`."""
    template = msg if msg is not None else c.RET_MSGS.get(code, c.RET_MSGS[R.PARAM_ERROR])
    try:
        text = template.format(**fields)
    except (KeyError, IndexError):
        text = template
    return BybitApiError(code, text, status)


def param_error(msg: str) -> BybitApiError:
    """10001 with a message naming the parameter, as Bybit words them ("params error: ...")."""
    return BybitApiError(R.PARAM_ERROR, msg)


@dataclass(frozen=True, slots=True)
class Refusal:
    """What Bybit does with an order the simulator refused: an error answer (`ret_code`), or an
    acceptance closed at once with `reject_reason` (`ret_code` None)."""

    ret_code: int | None
    msg: str | None = None
    reject_reason: str = c.REJECT_NO_ERROR


# Simulator rejection code -> Bybit. The only mapping; tested case by case.
REJECTIONS: Final[dict[str, Refusal]] = {
    "unknown_market": Refusal(R.PARAM_ERROR, "params error: symbol invalid"),
    "duplicate_client_id": Refusal(R.DUPLICATE_ORDER_LINK_ID),
    "invalid_amount": Refusal(R.PARAM_ERROR, "params error: qty invalid"),
    "off_step": Refusal(R.PARAM_ERROR, "Qty invalid: the quantity is not a multiple of qtyStep"),
    "invalid_price": Refusal(R.PARAM_ERROR, "params error: price invalid"),
    "off_tick": Refusal(R.PARAM_ERROR, "Price invalid: the price is not a multiple of tickSize"),
    "position_side_mismatch": Refusal(R.PARAM_ERROR, "position idx not match position mode"),
    "below_min_size": Refusal(R.PARAM_ERROR, "The number of contracts exceeds minimum limit allowed"),
    "below_min_notional": Refusal(R.NOTIONAL_TOO_LOW),
    "no_liquidity": Refusal(None, reject_reason=c.REJECT_NO_IMMEDIATE_QTY_TO_FILL),
    "reduce_only_rejected": Refusal(R.REDUCE_ONLY_RULE),
    "post_only_would_cross": Refusal(None, reject_reason=c.REJECT_POST_ONLY_WILL_TAKE_LIQUIDITY),
    "insufficient_margin": Refusal(R.AVAILABLE_INSUFFICIENT),
}
UNKNOWN_REFUSAL: Final = Refusal(R.PARAM_ERROR, "params error: order rejected")


def refusal(sim_code: str | None) -> Refusal:
    return REJECTIONS.get(sim_code or "", UNKNOWN_REFUSAL)


def refusal_error(ref: Refusal, **fields: object) -> BybitApiError:
    assert ref.ret_code is not None
    return api_error(ref.ret_code, ref.msg, 200, **fields)
