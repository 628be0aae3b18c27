"""What rests at Gate for the bot while it is gone: price-triggered reduce-only orders (the
contract's conditional stop) and the `countdown_cancel_all` dead-man switch. Used by the gateway.

A stop is `POST /futures/usdt/price_orders` with the order to send (`initial`: the size in signed
contracts, price "0" for a market order with `tif` ioc, `reduce_only`, the client id as `text`) and
its trigger (`price_type` 1 mark / 0 last, `rule` 2 "<=" for a sell stop that fires as the price
falls, 1 ">=" for a buy stop); Gate answers its id. Gate cancels a stop by that id, so the ids are
remembered, and found again by listing the open ones after a restart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.parse import Contract, client_id_of, to_text
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.core.model import ClientOrderId, ExchangeOrderId, Side
from pmm.errors import OrderError


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class GateStops:
    def __init__(self, rest: GateRestClient) -> None:
        self._rest = rest
        self.ids: dict[ClientOrderId, str] = {}  # price-triggered orders, by client id

    async def countdown(self, contract: str, market: str, seconds: float) -> None:
        """Cancel the contract's orders unless renewed within `seconds` (at least 5; 0 disarms)."""
        timeout = max(round(seconds), spec.DEAD_MAN_MIN_S) if seconds > 0 else 0
        what = f"arm countdown_cancel_all ({timeout} s) for {market}" if timeout else \
            f"disarm countdown_cancel_all for {market}"
        await self._rest.post(spec.COUNTDOWN_PATH, {"timeout": timeout, "contract": contract}, what=what)

    async def place(self, contract: Contract, client_id: ClientOrderId, side: Side, amount: Decimal,
                    trigger_price: Decimal, *, trigger_on_mark: bool, limit_price: Decimal | None,
                    dual: bool) -> ExchangeOrderId:
        contracts = int(contract.to_contracts(amount))
        initial: dict[str, Any] = {
            "contract": contract.name, "size": contracts if side is Side.BUY else -contracts,
            "price": "0" if limit_price is None else _fmt(limit_price), "tif": "ioc" if limit_price is None else "gtc",
            "reduce_only": True, "text": to_text(client_id)}
        trigger = {"strategy_type": 0, "price_type": spec.PRICE_TYPE_MARK if trigger_on_mark else spec.PRICE_TYPE_LAST,
                   "price": _fmt(trigger_price),
                   "rule": spec.TRIGGER_RULE_FALLS if side is Side.SELL else spec.TRIGGER_RULE_RISES, "expiration": 0}
        body: dict[str, Any] = {"initial": initial, "trigger": trigger}
        if dual:
            body["order_type"] = "close-long-position" if side is Side.SELL else "close-short-position"
        row = await self._rest.post(spec.PRICE_ORDERS_PATH, body, order_call=True, what=f"place stop {client_id}")
        stop_id = str(row.get("id") or "") if isinstance(row, dict) else ""
        if stop_id:
            self.ids[client_id] = stop_id
        return ExchangeOrderId(stop_id)

    async def cancel(self, contract: str, market: str, client_id: ClientOrderId) -> None:
        """Cancel a stop by its id (remembered when placed or listed; else listed first)."""
        if client_id not in self.ids:
            await self.resting(contract, market)
        stop_id = self.ids.pop(client_id, None)
        if stop_id is None:
            raise OrderError(f"cancel stop {client_id}: Gate lists no such price-triggered order on {market}.")
        await self._rest.delete(spec.price_order_path(stop_id), order_call=True, what=f"cancel stop {client_id}")

    async def resting(self, contract: str, market: str) -> list[ClientOrderId]:
        """The client ids of the contract's price-triggered orders not yet fired."""
        rows = await self._rest.get(spec.PRICE_ORDERS_PATH, [("status", "open"), ("contract", contract)],
                                    what=f"read resting stops of {market}")
        found = []
        for row in rows or []:
            client_id = client_id_of({"text": (row.get("initial") or {}).get("text"), "id": row["id"]})
            self.ids[client_id] = str(row["id"])
            found.append(client_id)
        return found
