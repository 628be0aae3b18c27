"""The status payload: one dict that the live view renders and the store keeps for `pmm status`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pmm.core.model import FundingInfo, Position, Side
from pmm.engine.desk import Desk, unrealized_at

if TYPE_CHECKING:
    from pmm.engine.safety import Safety
    from pmm.engine.state import SessionPnl
    from pmm.strategy.views import Decision


@dataclass(frozen=True)
class RunFacts:
    """What does not change during a run."""

    run_id: str
    connector_id: str
    clock_kind: str  # virtual (--fast), simulated (real-time pace at a simulated account's time) or live
    rate_limit_use: Callable[[], Any] | None


@dataclass(frozen=True)
class ExternalSource:
    """The external price source's book as shown: where it comes from and what it waits for."""

    key: str  # its book in `Desk.markets`
    connector: str
    market: str
    waiting_for: str


@dataclass(frozen=True)
class RunState:
    """Where the run is now, beyond the desk."""

    state: str  # starting, running, stopping, stopped
    stop_reason: str | None
    decision: Decision | None
    safety: Safety
    session: SessionPnl
    orders_placed: int
    orders_cancelled: int
    model_status: Any
    exchange_stops: list[dict[str, Any]] | None  # None: `exchange_stop_loss` is off


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def estimated_funding(positions: tuple[Position, ...], info: FundingInfo | None) -> Decimal | None:
    """Next payment for the current positions (positive = we receive), at the current mark and rate."""
    if info is None:
        return None
    size = sum((p.signed_amount for p in positions), Decimal(0))
    return -(size * info.mark_price * info.rate)


def _blocked(run: RunState) -> str | None:
    """A guard that blocks quoting now (stale data, a connection down), worded as of now: the last
    decision may be older (nothing is evaluated while no data arrives), and its "down for 1 s"
    would be shown for as long as the connection stays down."""
    if run.state != "running" or run.decision is None:
        return None
    return run.safety.blocked_reason()


def _reason(run: RunState, blocked: str | None) -> str:
    if run.state in ("stopping", "stopped"):
        return f"{run.state}: {run.stop_reason or 'stop requested'}"
    if run.decision is None:
        return "starting"
    if blocked is not None:
        return f"not quoting: {blocked}"
    return str(run.decision.reason)


def build_status(desk: Desk, facts: RunFacts, run: RunState, external: ExternalSource | None) -> dict[str, Any]:
    now = desk.clock.now()
    market = desk.market
    mstate = desk.state
    book = mstate.book
    decision = run.decision
    ref = decision.ref_price if decision else None
    mark = mstate.funding.mark_price if mstate.funding else None
    positions = desk.positions()
    unrealized = sum((unrealized_at(p, mark) for p in positions), Decimal(0))
    markets = [{
        "connector": facts.connector_id,
        "market": market,
        "best_bid": _s(book.best_bid),
        "best_ask": _s(book.best_ask),
        "ref_price": _s(ref),
        "ref_price_type": decision.ref_price_type if decision else "",
        "book_ready": mstate.ready,
    }]
    if external is not None:
        ext = desk.markets[external.key]
        markets.append({
            "connector": external.connector, "market": external.market,
            "best_bid": _s(ext.book.best_bid), "best_ask": _s(ext.book.best_ask), "ref_price": None,
            "ref_price_type": "price source", "book_ready": ext.ready, "waiting_for": external.waiting_for,
        })
    orders = []
    for o in sorted(desk.active_orders(), key=lambda o: o.request.price or Decimal(0), reverse=True):
        price = o.request.price
        spread = None
        if ref and price is not None:
            spread = ((ref - price) if o.request.side is Side.BUY else (price - ref)) / ref * 100
        orders.append({
            "client_id": o.client_id, "level": o.request.level + 1, "side": str(o.request.side),
            "purpose": str(o.request.purpose), "price": _s(price),
            "spread_pct": _s(spread.quantize(Decimal("0.001")) if spread is not None else None),
            "amount": str(o.request.amount), "filled": str(o.filled), "age_s": round(now - o.created_ts, 1),
            "status": str(o.status),
        })
    info = mstate.funding
    funding = None
    if info is not None:
        funding = {
            "market": market, "rate": str(info.rate), "rate_pct": str(info.rate * 100),
            "mark_price": str(info.mark_price), "index_price": str(info.index_price),
            "next_funding_ts": info.next_funding_ts, "countdown_s": max(0.0, info.next_funding_ts - now),
            "estimated_payment": _s(estimated_funding(positions, info)),
        }
    session = run.session
    blocked = _blocked(run)
    return {
        "run_id": facts.run_id,
        "state": run.state,
        "ts": now,
        "clock": facts.clock_kind,
        "connector": facts.connector_id,
        "market": market,
        "quoting": run.state == "running" and blocked is None and bool(decision and decision.quoting),
        "reason": _reason(run, blocked),
        "last_decision_reason": decision.reason if decision else "",
        "markets": markets,
        "assets": [
            {"asset": b.asset, "total": str(b.total), "available": str(b.available),
             "margin_in_use": str(b.margin_in_use)}
            for b in desk.account.balances.values()
        ],
        "orders": orders,
        "positions": [
            {"market": p.market, "side": str(p.side), "amount": str(p.amount), "entry_price": str(p.entry_price),
             "leverage": p.leverage, "margin_mode": str(p.margin_mode),
             "unrealized_pnl": str(unrealized_at(p, mark)), "liquidation_price": _s(p.liquidation_price),
             "mark_price": _s(mark)}
            for p in positions
        ],
        "funding": funding,
        "quoting_model": run.model_status,
        "exchange_stops": run.exchange_stops,
        "session": {
            "fills": session.fills, "realized_pnl": str(session.realized), "fees": str(session.fees),
            "funding": str(session.funding), "unrealized_pnl": str(unrealized),
            "net_pnl": str(session.net(unrealized)), "volume_quote": str(session.volume_quote),
        },
        "orders_placed": run.orders_placed,
        "orders_cancelled": run.orders_cancelled,
        # health, for metrics and `pmm status --json`
        "book_age_s": None if mstate.last_book_ts is None else round(max(0.0, now - mstate.last_book_ts), 3),
        "reconnects": run.safety.reconnects,
        "rate_limit_use": None if facts.rate_limit_use is None else facts.rate_limit_use(),
        "kill_switch": run.safety.monitor.tripped,
    }

