"""The live view of `pmm start`, laid out for the terminal it runs in (80x24 and up).

Nothing the operator acts on is ever cut: prices, sizes and ages are printed whole. A table keeps
the columns that fit the width, leaving out the optional ones first (orders: Filled, then Level,
then Status; positions: Margin, then Liq. Price, then Leverage). When the screen is not tall
enough, whole sections go, in this order:

1. the log panel (its oldest lines first; the log file has them all),
2. Assets,
3. Funding,
4. Markets,
5. order rows past what fits ("+N more orders").

The header, the progress line of a `--fast` run, why the bot is (not) quoting, Positions and the
Session line always stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, cast

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from pmm.ui.format import fmt_dec, fmt_duration, signed_style

DROP_ORDER = ("log", "assets", "funding", "markets", "orders")  # what goes first when the screen is short
_GAP = 2  # spaces between columns


@dataclass(frozen=True)
class _Column:
    name: str
    right: bool = True
    optional: int = 0  # 0: always shown; otherwise left out when too wide, highest first


def _fitting_table(title: str, columns: Sequence[_Column], rows: Sequence[Sequence[str | Text]],
                   width: int) -> RenderableType:
    """A borderless table whose columns are each as wide as their widest cell, leaving out optional
    columns (highest rank first) until the table fits in `width`. Cells are never shortened."""
    def need(col: int) -> int:
        return max([len(columns[col].name), *(len(_plain(r[col])) for r in rows)])

    shown = list(range(len(columns)))
    for rank in sorted({c.optional for c in columns if c.optional}, reverse=True):
        if sum(need(i) for i in shown) + _GAP * (len(shown) - 1) <= width:
            break
        shown = [i for i in shown if columns[i].optional != rank]

    def line(cells: Sequence[str | Text], style: str = "") -> Text:
        out = Text(style=style, overflow="fold")  # too wide even so: wrapped, never cut
        for position, i in enumerate(shown):
            raw = cells[i]
            cell = raw if isinstance(raw, Text) else Text(str(raw))
            padding = " " * (need(i) - len(cell.plain))
            out.append_text(Text(padding) + cell if columns[i].right else cell + Text(padding))
            if position < len(shown) - 1:
                out.append(" " * _GAP)
        return out

    return Group(Text(title, style="bold"), line([c.name for c in columns], style="bold"),
                 *(line(row) for row in rows))


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _orders(payload: dict[str, Any], width: int, limit: int | None) -> RenderableType:
    orders = payload.get("orders") or []
    if not orders:
        return Text("No active orders.")
    if limit is not None and limit <= 0:
        return Text(f"Orders: {len(orders)} open (no room to list them; pmm status does)")
    shown = orders if limit is None else orders[:limit]
    columns = [_Column("Level", optional=2), _Column("Side", right=False), _Column("Purpose", right=False),
               _Column("Price"), _Column("Spread %"), _Column("Amount"), _Column("Filled", optional=3),
               _Column("Age"), _Column("Status", right=False, optional=1)]
    rows = [[str(o["level"]), o["side"], o["purpose"], fmt_dec(o["price"]), fmt_dec(o["spread_pct"]),
             fmt_dec(o["amount"]), fmt_dec(o["filled"]), fmt_duration(o["age_s"]), o["status"]] for o in shown]
    table = _fitting_table("Orders", columns, rows, width)
    hidden = len(orders) - len(shown)
    return Group(table, Text(f"+{hidden} more orders (pmm status lists them all)")) if hidden else table


def _positions(payload: dict[str, Any], width: int) -> RenderableType:
    positions = payload.get("positions") or []
    if not positions:
        return Text("No open positions.")
    columns = [_Column("Side", right=False), _Column("Amount"), _Column("Entry"), _Column("Leverage", optional=1),
               _Column("Margin", right=False, optional=3), _Column("Mark"), _Column("Unrealized PnL"),
               _Column("Liq. Price", optional=2)]
    rows = [[p["side"].upper(), fmt_dec(p["amount"]), fmt_dec(p["entry_price"]), f"{p['leverage']}x",
             p["margin_mode"], fmt_dec(p.get("mark_price")),
             Text(fmt_dec(p["unrealized_pnl"], 4), style=signed_style(p["unrealized_pnl"])),
             fmt_dec(p.get("liquidation_price"))] for p in positions]
    return _fitting_table(f"Positions ({positions[0]['market']})", columns, rows, width)


def _markets(payload: dict[str, Any]) -> RenderableType:
    """One line per market (the connector is in the header)."""
    lines = []
    for m in payload.get("markets", []):
        kind = m.get("ref_price_type") or "-"
        ref = f", ref {fmt_dec(m['ref_price'])} ({kind})" if m.get("ref_price") else f" ({kind})"
        lines.append(Text.assemble(("Markets ", "bold"), f"{m['market']}: bid {fmt_dec(m['best_bid'])}, "
                                   f"ask {fmt_dec(m['best_ask'])}{ref}"))
    return Group(*lines)


def _funding(payload: dict[str, Any]) -> RenderableType | None:
    info = payload.get("funding")
    if not info:
        return None
    countdown = info["next_funding_ts"] - payload["ts"]
    return Text.assemble(("Funding ", "bold"), f"rate {fmt_dec(info['rate_pct'])} %  mark {fmt_dec(info['mark_price'])}"
                         f"  next in {fmt_duration(countdown)}  est. payment ",
                         (fmt_dec(info["estimated_payment"], 4), signed_style(info["estimated_payment"])))


def _assets(payload: dict[str, Any]) -> RenderableType | None:
    assets = payload.get("assets") or []
    if not assets:
        return None
    return Group(*(Text.assemble(("Assets ", "bold"), f"{a['asset']} total {fmt_dec(a['total'], 4)}  available "
                                 f"{fmt_dec(a['available'], 4)}  margin in use {fmt_dec(a['margin_in_use'], 4)}")
                   for a in assets))


def _session(payload: dict[str, Any]) -> RenderableType | None:
    s = payload.get("session")
    if not s:
        return None
    net = s["net_pnl"]
    return Text.assemble(("Session: ", "bold"), f"{s['fills']} fills, realized {fmt_dec(s['realized_pnl'], 4)}, ",
                         f"fees {fmt_dec(s['fees'], 4)}, funding {fmt_dec(s['funding'], 4)}, ",
                         f"unrealized {fmt_dec(s['unrealized_pnl'], 4)}, net ", (fmt_dec(net, 4), signed_style(net)))


def _status_line(payload: dict[str, Any]) -> Text:
    if payload.get("quoting"):
        return Text(f"Quoting. {payload.get('reason') or ''}".strip(), style="green")
    return Text(f"Not quoting: {payload.get('reason') or 'unknown'}", style="yellow")


def _height(console: Console, renderable: RenderableType, width: int) -> int:
    return len(console.render_lines(renderable, console.options.update(width=width, height=None), pad=False))


def render_live(payload: dict[str, Any], *, width: int, height: int, header: str,
                progress: RenderableType | None = None, log_lines: Sequence[str] = ()) -> RenderableType:
    """The live view for a terminal of `width` x `height` (see the module docstring)."""
    measure = Console(width=width, height=height, color_system=None, file=cast(IO[str], _NullFile()),
                      legacy_windows=False)
    fixed: list[RenderableType] = [Text(header, style="bold")]
    if progress is not None:
        fixed.append(progress)
    fixed.append(_status_line(payload))
    optional: dict[str, RenderableType | None] = {
        "markets": _markets(payload), "assets": _assets(payload), "funding": _funding(payload),
    }
    positions, session = _positions(payload, width), _session(payload)
    order_count = len(payload.get("orders") or [])
    order_limit: int | None = None
    dropped: set[str] = set()

    def compose(log_count: int) -> list[RenderableType]:
        parts = list(fixed)
        if "markets" not in dropped and optional["markets"] is not None:
            parts.append(optional["markets"])
        parts.append(_orders(payload, width, order_limit))
        parts.append(positions)
        if "funding" not in dropped and optional["funding"] is not None:
            parts.append(optional["funding"])
        if "assets" not in dropped and optional["assets"] is not None:
            parts.append(optional["assets"])
        if session is not None:
            parts.append(session)
        if log_count > 0:
            shown = list(log_lines)[-log_count:]
            parts.append(Panel(Text("\n".join(shown), no_wrap=True, overflow="ellipsis"), title="log",
                               title_align="left", height=len(shown) + 2))
        return parts

    def used(log_count: int) -> int:
        return _height(measure, Group(*compose(log_count)), width)

    # The log panel takes what is left; then sections go in DROP_ORDER until the rest fits.
    room_for_log = height - used(0) - 2
    if room_for_log >= 1 and log_lines:
        return Group(*compose(min(len(log_lines), room_for_log)))
    for section in DROP_ORDER[1:-1]:
        if used(0) <= height:
            break
        dropped.add(section)
    if used(0) > height and order_count:
        # Orders last: as many rows as fit, then "+N more". The table needs its title and header.
        order_limit = order_count
        while order_limit > 0 and used(0) > height:
            order_limit -= 1
    return Group(*compose(0))


class _NullFile:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass
