"""The status payload: one dict that the live view renders and the store keeps for `pmm status`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pmm.core.clock import LiveClock
from pmm.core.model import FundingInfo, Position, Side

if TYPE_CHECKING:
    from pmm.engine.engine import Engine


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def unrealized_at(position: Position, mark: Decimal | None) -> Decimal:
    if mark is None:
        return position.unrealized_pnl
    return (mark - position.entry_price) * position.signed_amount


def estimated_funding(positions: tuple[Position, ...], info: FundingInfo | None) -> Decimal | None:
    """Next payment for the current positions (positive = we receive), at the current mark and rate."""
    if info is None:
        return None
    size = sum((p.signed_amount for p in positions), Decimal(0))
    return -(size * info.mark_price * info.rate)


def _blocked(engine: Engine, state: str) -> str | None:
    """A guard that blocks quoting now (stale data, a connection down), worded as of now: the last
    decision may be older (nothing is evaluated while no data arrives), and its "down for 1 s"
    would be shown for as long as the connection stays down."""
    if state != "running" or engine.last_decision is None:
        return None
    return engine.safety.blocked_reason()


def _reason(engine: Engine, state: str, decision: Any, blocked: str | None) -> str:
    if state in ("stopping", "stopped"):
        return f"{state}: {engine.stop_reason or 'stop requested'}"
    if decision is None:
        return "starting"
    if blocked is not None:
        return f"not quoting: {blocked}"
    return str(decision.reason)


def _clock_kind(engine: Engine) -> str:
    """virtual (--fast), simulated (real-time pace at a simulated account's later time) or live."""
    if engine.bundle.pacer.virtual:
        return "virtual"
    clock = engine.clock
    return "simulated" if isinstance(clock, LiveClock) and clock.offset_s > 0 else "live"


def build_status(engine: Engine, state: str) -> dict[str, Any]:
    now = engine.clock.now()
    market = engine.market
    mstate = engine.markets[market]
    book = mstate.book
    decision = engine.last_decision
    ref = decision.ref_price if decision else None
    mark = mstate.funding.mark_price if mstate.funding else None
    positions = engine.account.market_positions(market)
    unrealized = sum((unrealized_at(p, mark) for p in positions), Decimal(0))
    markets = [{
        "connector": engine.connector_id,
        "market": market,
        "best_bid": _s(book.best_bid),
        "best_ask": _s(book.best_ask),
        "ref_price": _s(ref),
        "ref_price_type": decision.ref_price_type if decision else "",
        "book_ready": mstate.ready,
    }]
    if engine.external_market is not None:
        ext = engine.markets[engine.external_market].book
        source = engine.external_source
        markets.append({
            "connector": source.source_id if source is not None else engine.connector_id,
            "market": source.market if source is not None else engine.external_market,
            "best_bid": _s(ext.best_bid), "best_ask": _s(ext.best_ask), "ref_price": None,
            "ref_price_type": "price source", "book_ready": engine.markets[engine.external_market].ready,
            "waiting_for": engine.external_wait(),
        })
    orders = []
    for o in sorted(engine.tracker.active(market), key=lambda o: o.request.price or Decimal(0), reverse=True):
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
    session = engine.session
    blocked = _blocked(engine, state)
    return {
        "run_id": engine.run_id,
        "state": state,
        "ts": now,
        "clock": _clock_kind(engine),
        "connector": engine.connector_id,
        "market": market,
        "quoting": state == "running" and blocked is None and bool(decision and decision.quoting),
        "reason": _reason(engine, state, decision, blocked),
        "last_decision_reason": decision.reason if decision else "",
        "markets": markets,
        "assets": [
            {"asset": b.asset, "total": str(b.total), "available": str(b.available),
             "margin_in_use": str(b.margin_in_use)}
            for b in engine.account.balances.values()
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
        "quoting_model": engine.strategy.model_status(positions),
        "session": {
            "fills": session.fills, "realized_pnl": str(session.realized), "fees": str(session.fees),
            "funding": str(session.funding), "unrealized_pnl": str(unrealized),
            "net_pnl": str(session.net(unrealized)), "volume_quote": str(session.volume_quote),
        },
        "orders_placed": engine.orders.placed,
        "orders_cancelled": engine.orders.cancelled,
        # health, for metrics and `pmm status --json`
        "book_age_s": None if mstate.last_book_ts is None else round(max(0.0, now - mstate.last_book_ts), 3),
        "reconnects": engine.safety.reconnects,
        "rate_limit_use": None if engine.bundle.rate_limit_use is None else engine.bundle.rate_limit_use(),
        "kill_switch": engine.safety.monitor.tripped,
    }

