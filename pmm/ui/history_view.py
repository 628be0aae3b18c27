"""`pmm history`: the performance report per market and per run, the fills and funding payments,
as tables, JSON or CSV. Reads the store only."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from pmm.errors import ConfigError
from pmm.ui.commands import console_for_output, open_store
from pmm.ui.format import fmt_dec, fmt_ts, signed_style


def show_history(db_url: str, *, days: float | None, market: str | None, csv_path: Path | None,
                 as_json: bool, plot_path: Path | None = None) -> None:
    from pmm.store import queries
    from pmm.store.performance import performance_report, performance_report_of

    if market is not None:
        market = market.strip().upper()  # markets are stored as the config names them: BTC-USDT
    db = open_store(db_url)
    if db is None:  # no store yet: an empty report, as `pmm status` says "no bot has run"
        if csv_path is not None:
            _write_csv(csv_path, [], [])
        if as_json:
            print(json.dumps({"since_ts": None, "markets": [], "runs": [], "fills": [], "funding_payments": []},
                             indent=2))
            return
        console_for_output().print(f"No records yet in {db_url}: nothing has run with this database. Start a bot "
                                   f"with `pmm start -c configs/quickstart.yml`.")
        return
    since = None
    if days is not None:
        # The window ends at the newest record, so `--days 1` after a --fast run (simulated
        # clock) shows the last simulated day, and on live data it ends (nearly) now.
        newest = max(filter(None, (queries.last_fill_ts(db, market=market),
                                   (queries.last_funding_time_ms(db, market=market) or 0) / 1000)), default=None)
        since = (newest - days * 86400) if newest is not None else None
    funding = queries.funding_payments(db, since_ts=since, market=market)
    runs = queries.list_runs(db)
    positions = [p for p in queries.last_position_snapshots(db) if market is None or p.market == market]
    run_positions = [p for run in runs for p in queries.last_position_snapshots(db, run.run_id)
                     if market is None or p.market == market]
    if plot_path is not None:
        from pmm.ui.history_plot import draw_history

        draw_history(queries.fills(db, since_ts=since, market=market), funding, plot_path)
        console_for_output().print(f"Drew the equity, inventory and funding of the store into {plot_path}")
        return
    if csv_path is not None or as_json:
        # Every fill is written out: load them all.
        fills = queries.fills(db, since_ts=since, market=market)
        by_market = performance_report(fills, funding, positions)
        by_run = performance_report(fills, funding, run_positions, per_run=True)
        n_fills, shown = len(fills), fills[-_SHOWN:]
    else:
        # The report reads the fill totals the store keeps (built here once for a store that
        # predates them); only the fills shown are loaded.
        _refresh_fill_totals(db)
        per_market, per_run = queries.fill_totals(db, since_ts=since, market=market)
        by_market = performance_report_of(per_market, funding, positions)
        by_run = performance_report_of(per_run, funding, run_positions, per_run=True)
        n_fills = sum(t.buys + t.sells for t in per_market.values())
        shown = queries.last_fills(db, _SHOWN, since_ts=since, market=market) if n_fills else []
    if csv_path is not None:
        _write_csv(csv_path, fills, funding)
    if as_json:
        from pmm.store import jsonable

        print(jsonable.dumps({"since_ts": since, "markets": by_market.to_dict()["markets"],
                              "runs": by_run.to_dict()["markets"], "fills": fills, "funding_payments": funding},
                             indent=2))
        return
    console = console_for_output()
    if not n_fills and not funding:
        console.print("No fills or funding payments recorded" + (f" for {market}" if market else "") +
                      (f" in the last {days:g} day(s)" if days is not None else "") + ".")
        return
    console.print(f"History from {fmt_ts(by_market.start_ts)} to {fmt_ts(by_market.end_ts)}")
    console.print(_performance_table("Per market (all runs)", by_market.markets, per_run=False))
    console.print(_performance_table("Per run", by_run.markets, per_run=True))
    console.print(_fills_table(shown, n_fills))
    console.print(_funding_table(funding))
    if csv_path is not None:
        console.print(f"Wrote {n_fills} fills and {len(funding)} funding payments to {csv_path}")


_SHOWN = 20  # fills and funding payments listed under the report
_REBUILD_NOTICE_FILLS = 100_000  # adding up fewer fills takes well under a second: said nothing


def _refresh_fill_totals(db: Any) -> None:
    """Add up the stored fills into the store's fill totals if it has none yet (a store from before
    they existed) or an older pmm wrote fills since: once, with progress on stderr when long."""
    from pmm.store import totals_read

    if totals_read.is_fresh(db):
        return
    err = Console(stderr=True, highlight=False)
    t0 = time.monotonic()
    step = [0, 0]  # fills per progress line, next line at

    def progress(done: int, total: int) -> None:
        if total < _REBUILD_NOTICE_FILLS:
            return
        if done == 0:
            err.print(f"Adding up the {total:,} stored fills into the store's fill totals (once: this store has "
                      f"none yet, or an older pmm wrote fills)...")
            step[0] = step[1] = max(total // 4, 1)
        elif done >= step[1] and done < total:
            err.print(f"  {done:,} / {total:,} fills")
            step[1] += step[0]

    try:
        n = totals_read.rebuild(db, progress)
    except totals_read.RebuildFailed as exc:
        err.print(f"Could not store the fill totals ({exc}): adding up every fill for this report.")
        return
    if n >= _REBUILD_NOTICE_FILLS:
        err.print(f"Fill totals stored in {time.monotonic() - t0:.1f} s; `pmm history` reads them from now on.")

_ROWS = (
    ("Fills (buy / sell)", lambda m: f"{m.fills} ({m.buys} / {m.sells})"),
    ("Buy volume", lambda m: f"{fmt_dec(m.buy_volume_base)} / {fmt_dec(m.buy_volume_quote, 2)} {m.quote_asset}"),
    ("Sell volume", lambda m: f"{fmt_dec(m.sell_volume_base)} / {fmt_dec(m.sell_volume_quote, 2)} {m.quote_asset}"),
    ("Avg buy / sell price", lambda m: f"{fmt_dec(m.avg_buy_price, 2) if m.avg_buy_price else '-'} / "
                                       f"{fmt_dec(m.avg_sell_price, 2) if m.avg_sell_price else '-'}"),
    ("Realized PnL", lambda m: fmt_dec(m.realized_pnl, 4)),
    ("Fees", lambda m: fmt_dec(m.fees_in_quote, 4)),
    ("Funding paid", lambda m: fmt_dec(m.funding_paid, 4)),
    ("Funding received", lambda m: fmt_dec(m.funding_received, 4)),
    ("Position", lambda m: fmt_dec(m.position)),
    ("Unrealized PnL (last mark)", lambda m: fmt_dec(m.unrealized_pnl, 4)),
    ("Net PnL", lambda m: fmt_dec(m.net_pnl, 4)),
)


def _performance_table(title: str, groups: Any, *, per_run: bool) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for g in groups:
        head = f"{g.venue} {g.market}"
        if per_run:
            head += f"\nrun {g.run_id[:8]}"
        table.add_column(head, justify="right")
    for label, cell in _ROWS:
        if per_run and label == "Net PnL":
            # what the run took over from the run before is that run's PnL: subtracted here
            table.add_row("Unrealized PnL inherited", *(fmt_dec(g.unrealized_inherited, 4) for g in groups))
        table.add_row(label, *(cell(g) for g in groups))
    return table


def _fills_table(fills: list[Any], total: int | None = None, limit: int = _SHOWN) -> Table:
    """The last `limit` of `fills`; `total` is how many there are (default: all given)."""
    total = len(fills) if total is None else total
    table = Table(title=f"Fills ({total}; last {min(limit, total)} shown)", title_justify="left")
    for col in ("Time", "Market", "Side", "Price", "Amount", "Fee", "Realized PnL", "Liquidity", "Order"):
        table.add_column(col, justify="left" if col in ("Time", "Market", "Side", "Liquidity", "Order") else "right")
    for f in fills[-limit:]:
        table.add_row(fmt_ts(f.ts), f.market, str(f.side), fmt_dec(f.price), fmt_dec(f.amount), fmt_dec(f.fee),
                      fmt_dec(f.realized_pnl), str(f.liquidity), f.client_id)
    return table


def _funding_table(funding: list[Any], limit: int = 20) -> Table:
    table = Table(title=f"Funding payments ({len(funding)}; last {min(limit, len(funding))} shown)",
                  title_justify="left")
    for col in ("Funding time", "Market", "Rate %", "Position", "Mark", "Amount"):
        table.add_column(col, justify="left" if col in ("Funding time", "Market") else "right")
    for p in funding[-limit:]:
        table.add_row(fmt_ts(p.ts), p.market, fmt_dec(p.rate * 100), fmt_dec(p.position_amount),
                      fmt_dec(p.mark_price), f"[{signed_style(p.amount)}]{fmt_dec(p.amount)}[/]")
    return table


def _open_csv(path: Path) -> TextIO:
    """`path` opened for writing (its folder created); ConfigError when that cannot be done."""
    if path.is_dir():
        raise ConfigError(f"--csv {path} is a folder: give a file path, e.g. --csv {path / 'history.csv'}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", newline="")
    except OSError as exc:
        raise ConfigError(f"Cannot write --csv {path}: {exc.strerror or exc} ({exc.filename or path}). Give a file "
                          f"path in a folder you can write.") from None


def _write_csv(path: Path, fills: list[Any], funding: list[Any]) -> None:
    import csv

    with _open_csv(path) as fh:
        writer = csv.writer(fh)
        writer.writerow(["type", "time_utc", "ts", "venue", "market", "run_id", "side", "price", "amount", "fee",
                         "fee_asset", "realized_pnl", "trade_id", "order_id", "funding_rate", "position_amount"])
        rows = [(f.ts, ["fill", fmt_ts(f.ts), f.ts, f.venue, f.market, f.run_id, str(f.side), f.price, f.amount,
                        f.fee, f.fee_asset, f.realized_pnl, f.trade_id, f.client_id, "", ""]) for f in fills]
        rows += [(p.ts, ["funding", fmt_ts(p.ts), p.ts, p.venue, p.market, p.run_id, "", p.mark_price, p.amount,
                         "", p.asset, "", "", "", p.rate, p.position_amount]) for p in funding]
        for _, row in sorted(rows, key=lambda r: r[0]):
            writer.writerow(row)
