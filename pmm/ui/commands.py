"""`pmm status`, `pmm balance` and `pmm stop`, and what the store-reading commands share (the
console, opening the store). They read the store; only `balance` of a live connector asks the venue.
`pmm history` is `history_view.py`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from pmm.errors import ConfigError, PmmError
from pmm.ui.format import fmt_dec, fmt_duration, fmt_ts


def console_for_output() -> Console:
    # Piped output gets a generous width instead of rich's 80 columns, so tables stay readable.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


def open_store(db_url: str) -> Any:
    from pmm.store.db import open_engine, sqlite_file_path

    path = sqlite_file_path(db_url)
    if path is not None and not path.exists():
        return None
    return open_engine(db_url)


def live_bots(db: Any) -> dict[str, Any]:
    """The bots of the store that run now, by run id (their leases, judged by `liveness.py`)."""
    from pmm.core.clock import LiveClock
    from pmm.store import bots
    from pmm.store.liveness import this_process

    return {b.run_id: b for b in bots.live_bots(db, here=this_process(), now=LiveClock().now())}


def run_state(run: Any, live: dict[str, Any]) -> str:
    """running | stopped | crashed: a run recorded as running is running while its bot lives."""
    status = str(run.status)
    if status == "running":
        return "running" if run.run_id in live else "crashed"
    return status


# --- status ---------------------------------------------------------------------------------------


def show_status(db_url: str, *, funding_rate: bool, as_json: bool) -> None:
    """Every bot running on the store, each with its status; the last run when none is."""
    from pmm.store import queries

    db = open_store(db_url)
    live = live_bots(db) if db is not None else {}
    runs = [run for run in (queries.get_run(db, run_id) for run_id in live) if run is not None]
    if not runs and db is not None and (latest := queries.latest_run(db)) is not None:
        runs = [latest]
    if not runs:
        if as_json:
            print(json.dumps({"run": None, "runs": []}))
            return
        console_for_output().print(f"No bot has run with this database ({db_url}) yet. "
                         f"Start one with `pmm start -c configs/quickstart.yml`.")
        return
    shown = [_run_status(db, run, live, funding_rate) for run in runs]
    if as_json:
        # "run" and "status": the newest run, as with a single bot; "runs": each running bot.
        print(json.dumps(shown[-1][0] | {"runs": [data for data, _ in shown]}, indent=2))
        return
    console = console_for_output()
    for i, (_, text) in enumerate(shown):
        if i:
            console.print()
        console.print(text)


def _run_status(db: Any, run: Any, live: dict[str, Any], funding_rate: bool) -> tuple[dict[str, Any], Any]:
    """One run's status: (its JSON document, its rendering)."""
    from pmm.store import queries
    from pmm.ui.status_view import render_status

    snapshot = queries.latest_status(db, run.run_id)
    payload = snapshot.data() if snapshot is not None else {}
    state = run_state(run, live)
    if state == "crashed" and payload:
        # Its last status was written while it ran (and may say it was quoting): it is not now.
        payload = {**payload, "state": "crashed", "quoting": False,
                   "reason": "crashed: the process ended without a clean stop, so orders it placed may still be "
                             "open at the venue. The next `pmm start` on this account and market cancels them."}
    virtual = payload.get("clock") in ("virtual", "simulated")  # the engine's time is not the wall clock
    ended = run.ended_ts or run.heartbeat_ts or payload.get("ts")
    header = f"Run {run.run_id[:8]} on {run.connector} {run.market}: {state.upper()}"
    if state == "running":
        header += f", started {fmt_ts(run.started_ts)}"
        bot = live[run.run_id].process
        header += f" (pid {bot.pid} on {bot.host})"
    elif ended is not None:
        header += f", ended {fmt_ts(ended)}"
        header += " (simulated clock)" if virtual else f" ({fmt_duration(time.time() - ended)} ago)"
        if run.exit_reason:
            header += f" - {run.exit_reason}"
    data = {"run": {"run_id": run.run_id, "state": state, "connector": run.connector, "market": run.market,
                    "started_ts": run.started_ts, "ended_ts": run.ended_ts, "exit_reason": run.exit_reason},
            "status": payload if funding_rate else {k: v for k, v in payload.items() if k != "funding"}}
    if not payload:
        return data, header + "\n(no status recorded yet)"
    now = time.time() if state == "running" and not virtual else payload.get("ts")
    return data, render_status(payload, funding=funding_rate, now=now, header=header)


# --- balance --------------------------------------------------------------------------------------


def show_balance(db_url: str, derivative: str, *, as_json: bool, config_path: Path | None = None) -> None:
    if derivative.startswith("sim_") or derivative.endswith("_paper_trade"):
        stored = _stored_account(db_url, derivative)
        if stored is None:  # nothing has run on it yet: not an error (exit 0), as `pmm status`
            if as_json:
                print(json.dumps({"derivative": derivative, "ts": None, "source": "simulated account",
                                  "balances": [], "positions": []}, indent=2))
            else:
                console_for_output().print(f"No records yet of a {derivative} account in {db_url}: it is created "
                                           f"by the first `pmm start` on a {derivative} config.")
            return
        summary, ts, source = stored
    else:
        import asyncio

        summary, ts, source = asyncio.run(_live_account(derivative, config_path))
    if as_json:
        print(json.dumps({"derivative": derivative, "ts": ts, "source": source, **summary}, indent=2))
        return
    _print_account(derivative, summary, ts, source)


def _stored_account(db_url: str, derivative: str) -> tuple[dict[str, Any], float, str] | None:
    from pmm.sim.persistence import account_summary
    from pmm.store import queries

    db = open_store(db_url)
    snapshot = queries.sim_account(db, derivative) if db is not None else None
    if snapshot is None:
        return None
    return account_summary(snapshot.data()), snapshot.ts, "simulated account"


async def _live_account(derivative: str, config_path: Path | None) -> tuple[dict[str, Any], float, str]:
    """Ask the venue: balances and positions over its REST API (keys from env or `pmm connect`)."""
    import sys
    from types import SimpleNamespace

    import typer

    from pmm.config import load_config
    from pmm.connectors.registry import build_connector
    from pmm.credentials import needs_password

    if config_path is not None:
        config: Any = load_config(config_path)
        if config.derivative != derivative:
            raise ConfigError(f"--derivative {derivative} does not match `derivative` {config.derivative} in "
                              f"{config_path}.")
    else:
        config = SimpleNamespace(derivative=derivative, market=None, connector=None)
    options: dict[str, Any] = {}
    if sys.stdin.isatty() and needs_password(derivative):
        password = typer.prompt(f"Password for the stored {derivative} API key", hide_input=True)
        options["ask_password"] = lambda _prompt: password
    bundle = build_connector(derivative, config, fast=False, **options)
    gateway = bundle.gateway
    try:
        balances, positions = await gateway.balances(), await gateway.positions()
    finally:
        await gateway.stop()
        await bundle.feed.stop()
    summary = {
        "balances": [{"asset": b.asset, "total": str(b.total), "available": str(b.available),
                      "margin_in_use": str(b.margin_in_use), "unrealized_pnl": str(b.unrealized_pnl)}
                     for b in balances if b.total != 0 or b.available != 0],
        "positions": [{"market": p.market, "side": str(p.side), "amount": str(p.amount),
                       "entry_price": str(p.entry_price), "leverage": p.leverage, "margin_mode": str(p.margin_mode),
                       "unrealized_pnl": str(p.unrealized_pnl),
                       "liquidation_price": None if p.liquidation_price is None else str(p.liquidation_price)}
                      for p in positions],
    }
    return summary, bundle.clock.now(), "live account"


def _print_account(derivative: str, summary: dict[str, Any], ts: float, source: str) -> None:
    console = console_for_output()
    console.print(f"{derivative} ({source}, as of {fmt_ts(ts)})")
    assets = Table(title="Assets", title_justify="left")
    for col in ("Asset", "Total", "Available", "Margin in use", "Unrealized PnL"):
        assets.add_column(col, justify="left" if col == "Asset" else "right")
    for b in summary["balances"]:
        assets.add_row(b["asset"], fmt_dec(b["total"], 4), fmt_dec(b["available"], 4),
                       fmt_dec(b["margin_in_use"], 4), fmt_dec(b["unrealized_pnl"], 4))
    console.print(assets)
    if not summary["positions"]:
        console.print("No open positions.")
        return
    positions = Table(title="Positions", title_justify="left")
    for col in ("Market", "Side", "Size", "Entry", "Leverage", "Margin mode", "Unrealized PnL", "Liq. Price"):
        positions.add_column(col, justify="left" if col in ("Market", "Side", "Margin mode") else "right")
    for p in summary["positions"]:
        positions.add_row(p["market"], p["side"].upper(), fmt_dec(p["amount"]), fmt_dec(p["entry_price"]),
                          f"{p['leverage']}x", p["margin_mode"], fmt_dec(p["unrealized_pnl"], 4),
                          fmt_dec(p["liquidation_price"]))
    console.print(positions)


# --- stop -----------------------------------------------------------------------------------------


def stop_running_bot(db_url: str, *, flatten: bool, timeout_s: float, run: str | None = None) -> str:
    """Ask a running bot of the store to stop (and flatten) and wait for its clean stop.

    The request goes through the store (`bots.request_stop`; the bot checks for it every second),
    never as a signal to a stored pid, so it reaches a bot on another host of a shared store too.
    `run` picks the bot by the start of its run id; it is needed when several bots run.
    """
    from pmm.store import bots, queries

    db = open_store(db_url)
    live = live_bots(db) if db is not None else {}
    chosen = [b for b in live.values() if run is None or b.run_id.startswith(run)]
    listing = ", ".join(f"{b.run_id[:8]} ({b.connector} {b.market})" for b in live.values())
    if not chosen and run is not None and live:
        raise ConfigError(f"No running bot of {db_url} has a run id starting with `{run}`. Running: {listing}.")
    if not chosen:
        last = queries.latest_run(db) if db is not None else None
        state = "no bot has run" if last is None else f"the last run ({last.run_id[:8]}) is {run_state(last, live)}"
        return f"No running bot to stop in {db_url}: {state}. Nothing to do."  # not a failure: exit 0
    if len(chosen) > 1:
        raise ConfigError(f"{len(chosen)} bots are running in {db_url}: {listing}. Say which one to stop with "
                          f"`pmm stop --run RUN_ID`.")
    bot = chosen[0]
    where = f"pid {bot.process.pid} on {bot.process.host}"
    bots.request_stop(db, bot.run_id, flatten=flatten)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = queries.get_run(db, bot.run_id)
        if current is not None and str(current.status) != "running":
            return f"Run {bot.run_id[:8]} stopped: {current.exit_reason}."
        if bot.run_id not in live_bots(db):
            current = queries.get_run(db, bot.run_id)  # it may have recorded its stop just before exiting
            if current is not None and str(current.status) != "running":
                return f"Run {bot.run_id[:8]} stopped: {current.exit_reason}."
            return f"Run {bot.run_id[:8]} ended ({where}) without recording a clean stop."
        time.sleep(0.2)
    raise PmmError(f"Run {bot.run_id[:8]} ({where}) did not stop within {timeout_s:g} s: it may still be "
                   f"cancelling orders. Check `pmm status`, or wait and run `pmm stop` again.")
