"""The `pmm` command line: argument parsing, output, one error handler, exit codes. No logic here.

Exit codes: 0 ok, 1 internal error, 2 config/usage, 3 auth, 4 exchange unavailable, 5 safety stop.
Heavy modules are imported inside the commands so `pmm --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="pmm: an event-driven perpetual-futures market-making bot.")

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy database URL "
                                              "(default: $PMM_DB or sqlite:///data/pmm.sqlite in the working directory).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def _db_url(db: str | None) -> str:
    if db:
        return db
    from pmm.store.db import default_db_url

    return default_db_url()


def _fail(exc: BaseException) -> NoReturn:
    from pmm.errors import EXIT_INTERNAL, PmmError

    if isinstance(exc, PmmError):  # a ConfigError's message already lists every problem
        typer.echo(f"error: {exc}", err=True)
    else:
        typer.echo(f"internal error: {exc.__class__.__name__}: {exc}. This is a bug in pmm; please report it "
                   f"with the log above.", err=True)
        raise typer.Exit(EXIT_INTERNAL)
    raise typer.Exit(exc.exit_code)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command()
def start(
    config: Annotated[Path, typer.Option("-c", "--config", help="Strategy config YAML file.")],
    duration: Annotated[float | None, typer.Option("--duration", min=0.0,
                        help="Stop by itself after this many seconds of clock time.")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="sim_perpetual only: run a virtual clock as fast "
                                       "as the machine allows (same seed, same results).")] = False,
    plain: Annotated[bool, typer.Option("--plain", help="Print log lines instead of the live view, even "
                                        "on a terminal.")] = False,
    db: DbOption = None,
) -> None:
    """Start the bot on a config; Ctrl-C or SIGTERM stops it cleanly (own orders cancelled)."""
    import asyncio

    from pmm.app import StartOptions, run_bot
    from pmm.config import load_config
    from pmm.errors import ConfigError
    from pmm.ui.live import LiveRun

    try:
        cfg = load_config(config)
        for warning in cfg.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if fast and not cfg.derivative.startswith("sim_"):
            raise ConfigError(f"--fast only works with the simulated exchange; `derivative` is {cfg.derivative}. "
                              f"Drop --fast, or use `derivative: sim_perpetual`.")
        live = LiveRun(interactive=sys.stdout.isatty() and not plain)
        options = StartOptions(db_url=_db_url(db), duration_s=duration, fast=fast)
        ask = None
        from pmm.credentials import needs_password

        if sys.stdin.isatty() and needs_password(cfg.derivative):
            # Asked before the live view takes over the terminal.
            password = typer.prompt(f"Password for the stored {cfg.derivative} API key", hide_input=True)
            ask = lambda _prompt: password  # noqa: E731
        with live:
            result = asyncio.run(run_bot(cfg, options, on_engine=live.attach, ask_password=ask))
    except Exception as exc:  # one error handler for the whole command
        _fail(exc)
    typer.echo(f"stopped: {result.reason}. Run {result.run_id[:8]}: {result.events} events, {result.fills} fills. "
               f"See `pmm history`.")


@app.command()
def status(
    funding_rate: Annotated[bool, typer.Option("--funding-rate", help="Add funding rate, mark and index price, "
                                               "next funding time and the estimated next payment.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the running bot (or the last one, marked stopped) from the store."""
    from pmm.ui.commands import show_status

    try:
        show_status(_db_url(db), funding_rate=funding_rate, as_json=json_out)
    except Exception as exc:
        _fail(exc)


@app.command()
def balance(
    derivative: Annotated[str, typer.Option("--derivative", help="Connector whose account to show.")] = "sim_perpetual",
    config: Annotated[Path | None, typer.Option("-c", "--config", help="Live connectors: take endpoint overrides "
                                                "(`connector:`) from this config.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show an account: per asset total, available and margin in use; per position side, size, entry, PnL.

    Simulated and paper accounts are read from the store; live accounts are asked over the venue's API.
    """
    from pmm.ui.commands import show_balance

    try:
        show_balance(_db_url(db), derivative, as_json=json_out, config_path=config)
    except Exception as exc:
        _fail(exc)


@app.command()
def history(
    days: Annotated[float | None, typer.Option("--days", min=0.0, help="Only the last N days.")] = None,
    market: Annotated[str | None, typer.Option("--market", help="Only this market, e.g. BTC-USDT.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the fills and funding payments "
                                                  "to this CSV file.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Performance per market and per run: fills, volume, realized PnL, fees, funding, unrealized, net."""
    from pmm.ui.history_view import show_history

    try:
        show_history(_db_url(db), days=days, market=market, csv_path=csv_path, as_json=json_out)
    except Exception as exc:
        _fail(exc)


@app.command()
def stop(
    flatten: Annotated[bool, typer.Option("--flatten", help="Also close the bot's position with reduce-only "
                                          "orders (limit, then market after `risk.flatten_timeout_s`).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the bot to stop.")] = 120.0,
    db: DbOption = None,
) -> None:
    """Stop the running bot of this store from another terminal: it cancels its orders and exits."""
    from pmm.ui.commands import stop_running_bot

    try:
        message = stop_running_bot(_db_url(db), flatten=flatten, timeout_s=timeout)
    except Exception as exc:
        _fail(exc)
    typer.echo(message)


@app.command("exchange-sim")
def exchange_sim(
    venue: Annotated[str, typer.Argument(help="binance_perpetual, bybit_perpetual or okx_perpetual.")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one "
                                      "and prints it.")] = 8080,
    api_key: Annotated[str | None, typer.Option("--api-key", help="The simulated account's API key.")] = None,
    api_secret: Annotated[str | None, typer.Option("--api-secret", help="The simulated account's API secret.")] = None,
    api_passphrase: Annotated[str | None, typer.Option("--api-passphrase", help="The simulated account's API "
                                                       "passphrase (venues whose keys carry one).")] = None,
    config: Annotated[Path | None, typer.Option("-c", "--config", help="Take the simulated venue (markets, "
                                                "balances, fees) from this config's `sim:` section.")] = None,
    no_dcp: Annotated[bool, typer.Option("--no-dcp", help="bybit_perpetual only: an account without Disconnection "
                                         "Protection (its DCP requests are refused).")] = False,
) -> None:
    """Serve a venue's REST + WebSocket dialect on 127.0.0.1 over the simulated exchange (for dry runs)."""
    import asyncio

    from pmm.config import load_config
    from pmm.venue_servers import DEFAULT_API_KEY, DEFAULT_API_PASSPHRASE, DEFAULT_API_SECRET, serve, sim_settings
    from pmm.venue_servers import takes_passphrase

    try:
        settings = sim_settings(load_config(config) if config is not None else None)
        key, secret = api_key or DEFAULT_API_KEY, api_secret or DEFAULT_API_SECRET

        def ready(bound: int) -> None:
            markets = ", ".join(m.market for m in settings.markets)
            shown = f"secret {secret}" if api_secret is None else "the secret you passed"
            account = "; account without DCP" if no_dcp else ""
            if takes_passphrase(venue):
                shown += (f", passphrase {DEFAULT_API_PASSPHRASE}" if api_passphrase is None
                          else ", the passphrase you passed")
            typer.echo(f"{venue} exchange server on http://127.0.0.1:{bound} (WebSocket ws://127.0.0.1:{bound}); "
                       f"markets {markets}; API key {key}, {shown}{account}. Ctrl-C to stop.", err=False)

        asyncio.run(serve(venue, settings, port=port, api_key=key, api_secret=secret, on_ready=ready,
                          dcp=not no_dcp, api_passphrase=api_passphrase))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        _fail(exc)


@app.command()
def connect(
    connector: Annotated[str, typer.Argument(help="Live connector id, e.g. binance_perpetual.")],
    passphrase: Annotated[bool, typer.Option("--passphrase", help="The key has a passphrase (OKX): ask for it "
                                                                  "too.")] = False,
) -> None:
    """Store a connector's API key and secret (and passphrase), encrypted with a password (scrypt + AES-GCM)."""
    from pmm import credentials
    from pmm.config.names import KNOWN_DERIVATIVES
    from pmm.errors import ConfigError

    try:
        if connector not in KNOWN_DERIVATIVES or connector.startswith("sim_") or connector.endswith("_paper_trade"):
            live = sorted(c for c in KNOWN_DERIVATIVES if not c.startswith("sim_") and not c.endswith("_paper_trade"))
            raise ConfigError(f"`{connector}` takes no API keys. Connectors that do: {', '.join(live)}.")
        key = typer.prompt(f"{connector} API key").strip()
        secret = typer.prompt(f"{connector} API secret", hide_input=True).strip()
        phrase = typer.prompt(f"{connector} API passphrase", hide_input=True).strip() if passphrase else None
        password = typer.prompt("Password to encrypt them", hide_input=True, confirmation_prompt=True)
        path = credentials.save(connector, credentials.Credentials(key, secret, phrase), password)
    except Exception as exc:
        _fail(exc)
    key_var, secret_var = credentials.env_names(connector)
    typer.echo(f"Stored the {connector} API key ({credentials.mask(key)}) in {path}, encrypted with your password "
               f"(readable by you only). `pmm start` asks for the password, or reads PMM_PASSWORD. "
               f"{key_var}/{secret_var} override it.")


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()


if __name__ == "__main__":
    main()
