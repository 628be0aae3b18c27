"""`pmm status`, `pmm balance` and `pmm stop`, and what the store-reading commands share (the
console, opening the store). They read the store; only `balance` of a live connector asks the venue.
`pmm history` is `history_view.py`."""

from __future__ import annotations

import json
import os
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


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_state(run: Any) -> str:
    """running | stopped | crashed, judged by the recorded status and whether the process lives."""
    status = str(run.status)
    if status == "running":
        return "running" if _pid_alive(run.pid) else "crashed"
    return status


# --- status ---------------------------------------------------------------------------------------


def show_status(db_url: str, *, funding_rate: bool, as_json: bool) -> None:
    from pmm.store import queries
    from pmm.ui.status_view import render_status

    db = open_store(db_url)
    run = queries.latest_run(db) if db is not None else None
    if run is None:
        if as_json:
            print(json.dumps({"run": None}))
            return
        console_for_output().print(f"No bot has run with this database ({db_url}) yet. "
                         f"Start one with `pmm start -c configs/quickstart.yml`.")
        return
    snapshot = queries.latest_status(db, run.run_id)
    payload = snapshot.data() if snapshot is not None else {}
    state = run_state(run)
    if state == "crashed" and payload:
        # Its last status was written while it ran (and may say it was quoting): it is not now.
        payload = {**payload, "state": "crashed", "quoting": False,
                   "reason": "crashed: the process ended without a clean stop, so orders it placed may still be "
                             "open at the venue. The next `pmm start` on this account and market cancels them."}
    virtual = payload.get("clock") == "virtual"
    ended = run.ended_ts or run.heartbeat_ts or payload.get("ts")
    header = f"Run {run.run_id[:8]} on {run.connector} {run.market}: {state.upper()}"
    if state == "running":
        header += f", started {fmt_ts(run.started_ts)}"
    elif ended is not None:
        header += f", ended {fmt_ts(ended)}"
        header += " (simulated clock)" if virtual else f" ({fmt_duration(time.time() - ended)} ago)"
        if run.exit_reason:
            header += f" - {run.exit_reason}"
    if as_json:
        out = {"run": {"run_id": run.run_id, "state": state, "connector": run.connector, "market": run.market,
                       "started_ts": run.started_ts, "ended_ts": run.ended_ts, "exit_reason": run.exit_reason},
               "status": payload}
        if not funding_rate:
            out["status"] = {k: v for k, v in payload.items() if k != "funding"}
        print(json.dumps(out, indent=2))
        return
    if not payload:
        console_for_output().print(header + "\n(no status recorded yet)")
        return
    now = time.time() if state == "running" and not virtual else payload.get("ts")
    console_for_output().print(render_status(payload, funding=funding_rate, now=now, header=header))


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


def stop_running_bot(db_url: str, *, flatten: bool, timeout_s: float) -> str:
    """Signal the store's running bot (SIGTERM, or SIGUSR1 to flatten too) and wait for its clean stop."""
    import signal

    from pmm.store import queries

    db = open_store(db_url)
    run = queries.latest_run(db) if db is not None else None
    if run is None or run_state(run) != "running":  # nothing to do is not a failure: exit 0
        state = "no bot has run with it" if run is None else f"the last run ({run.run_id[:8]}) is {run_state(run)}"
        return f"No running bot to stop in {db_url}: {state}. Nothing to do."
    os.kill(run.pid, signal.SIGUSR1 if flatten else signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = queries.get_run(db, run.run_id)
        if current is not None and str(current.status) != "running":
            return f"Run {run.run_id[:8]} stopped: {current.exit_reason}."
        if not _pid_alive(run.pid):
            current = queries.get_run(db, run.run_id)  # it may have recorded its stop just before exiting
            if current is not None and str(current.status) != "running":
                return f"Run {run.run_id[:8]} stopped: {current.exit_reason}."
            return f"Run {run.run_id[:8]} exited (pid {run.pid}) without recording a clean stop."
        time.sleep(0.2)
    raise PmmError(f"Run {run.run_id[:8]} (pid {run.pid}) did not stop within {timeout_s:g} s: it may still be "
                   f"cancelling orders. Check `pmm status`, or wait and run `pmm stop` again.")
