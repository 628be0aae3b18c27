"""Renders a status payload (see pmm.engine.status) as rich tables: `pmm status` and the live view."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from pmm.ui.format import fmt_dec, fmt_duration, fmt_ts, signed_style


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False)
    for column in columns:
        table.add_column(column, justify="left" if column in ("Market", "Side", "Asset", "Purpose", "Connector")
                         else "right")
    return table


def _why_not(reason: str | None) -> str:
    """The reason after "Not quoting: ", without a "not quoting: " of its own (the guards' reasons
    start so, for the log)."""
    text = (reason or "").strip()
    while text.lower().startswith("not quoting"):
        text = text[len("not quoting"):].lstrip(" :;-")
    return text or "unknown"


def _model_line(m: dict[str, Any]) -> Text:
    """The GLFT model's inputs and outputs on one line (units: see pmm/strategy/glft.py)."""
    limit = m.get("max_position") or "none"
    if not m.get("calibrated"):
        return Text(f"Model glft: calibrating (quoting at bid_spread/ask_spread); inventory "
                    f"{m['inventory']} of {limit}")
    return Text(
        f"Model glft: σ {m['sigma_ticks_per_sqrt_s']} ticks/√s, "
        f"bid A {m['bid_a_per_s']}/s k {m['bid_k_per_tick']}/tick, "
        f"ask A {m['ask_a_per_s']}/s k {m['ask_k_per_tick']}/tick, γ {m['gamma']}; fair {m['fair_price']}, "
        f"reservation {m['reservation_price']}, half-spread {m['half_spread']}, skew {m['skew']}/order, "
        f"funding shift {m['funding_shift']}; inventory {m['inventory']} of {limit}")


def render_status(payload: dict[str, Any], *, funding: bool = False, now: float | None = None,
                  header: str | None = None) -> RenderableType:
    parts: list[RenderableType] = []
    if header:
        parts.append(Text(header, style="bold"))
    if payload.get("quoting"):
        parts.append(Text(f"Quoting. {payload.get('reason') or ''}".strip(), style="green"))
    else:
        parts.append(Text(f"Not quoting: {_why_not(payload.get('reason'))}", style="yellow"))

    markets = _table("Markets", "Connector", "Market", "Best Bid", "Best Ask", "Ref Price", "Price Type")
    for m in payload.get("markets", []):
        markets.add_row(m["connector"], m["market"], fmt_dec(m["best_bid"]), fmt_dec(m["best_ask"]),
                        fmt_dec(m["ref_price"]), m.get("ref_price_type") or "")
    parts.append(markets)

    assets = _table("Assets", "Asset", "Total", "Available", "Margin in use")
    for a in payload.get("assets", []):
        assets.add_row(a["asset"], fmt_dec(a["total"], 4), fmt_dec(a["available"], 4), fmt_dec(a["margin_in_use"], 4))
    parts.append(assets)

    orders = payload.get("orders", [])
    if orders:
        table = _table("Orders", "Level", "Side", "Purpose", "Price", "Spread %", "Amount", "Filled", "Age", "Status")
        for o in orders:
            table.add_row(str(o["level"]), o["side"], o["purpose"], fmt_dec(o["price"]), fmt_dec(o["spread_pct"]),
                          fmt_dec(o["amount"]), fmt_dec(o["filled"]), fmt_duration(o["age_s"]), o["status"])
        parts.append(table)
    else:
        parts.append(Text("No active orders."))

    positions = payload.get("positions", [])
    if positions:
        table = _table("Positions", "Market", "Side", "Amount", "Entry", "Leverage", "Margin", "Mark",
                       "Unrealized PnL", "Liq. Price")
        for p in positions:
            table.add_row(p["market"], p["side"].upper(), fmt_dec(p["amount"]), fmt_dec(p["entry_price"]),
                          f"{p['leverage']}x", p["margin_mode"], fmt_dec(p.get("mark_price")),
                          Text(fmt_dec(p["unrealized_pnl"], 4), style=signed_style(p["unrealized_pnl"])),
                          fmt_dec(p.get("liquidation_price")))
        parts.append(table)
    else:
        parts.append(Text("No open positions."))

    stops = payload.get("exchange_stops")
    for stop in stops or ():
        when = "falls to" if stop["side"] == "sell" else "rises to"
        parts.append(Text(f"Exchange-side stop ({stop['position_side']} position): {stop['side']} "
                          f"{fmt_dec(stop['amount'])} at market when the {stop['trigger']} {when} "
                          f"{fmt_dec(stop['trigger_price'])} - {stop['state']}",
                          style="green" if stop["state"] == "resting" else "yellow"))

    info = payload.get("funding")
    if info and funding:
        table = _table("Funding", "Market", "Rate %", "Mark", "Index", "Next Funding", "Countdown", "Est. Payment")
        countdown = info["next_funding_ts"] - (now if now is not None else payload["ts"])
        table.add_row(info["market"], fmt_dec(info["rate_pct"]), fmt_dec(info["mark_price"]),
                      fmt_dec(info["index_price"]), fmt_ts(info["next_funding_ts"]), fmt_duration(countdown),
                      Text(fmt_dec(info["estimated_payment"], 4), style=signed_style(info["estimated_payment"])))
        parts.append(table)
    elif info:
        parts.append(Text(f"Funding rate {fmt_dec(info['rate_pct'])} %, next in "
                          f"{fmt_duration(info['next_funding_ts'] - (now if now is not None else payload['ts']))}"))

    model = payload.get("quoting_model")
    if model:
        parts.append(_model_line(model))

    s = payload.get("session")
    if s:
        net = s["net_pnl"]
        parts.append(Text.assemble(
            ("Session: ", "bold"), f"{s['fills']} fills, realized {fmt_dec(s['realized_pnl'], 4)}, ",
            f"fees {fmt_dec(s['fees'], 4)}, funding {fmt_dec(s['funding'], 4)}, ",
            f"unrealized {fmt_dec(s['unrealized_pnl'], 4)}, net ", (fmt_dec(net, 4), signed_style(net))))
    return Group(*parts)
