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

from pmm.connectors import registry  # plain data (the venues' specs): help texts take examples from it

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="pmm: an event-driven perpetual-futures market-making bot.")

_SERVER_VENUES = ", ".join(s.venue for s in registry.server_venues())
_SPOT_SERVERS = ", ".join(s.spot_feed_id for s in registry.VENUES if s.spot_server and s.spot_feed_id) or "none"
_PASSPHRASE_VENUES = "venues whose keys have one: " + (", ".join(
    s.venue for s in registry.server_venues() if s.capabilities.needs_passphrase) or "none yet")
_OPTIONAL_DMS_VENUES = "venues where the switch is an account setting: " + (", ".join(
    s.venue for s in registry.server_venues() if s.capabilities.dead_man_switch_optional) or "none")
_KEYED_EXAMPLE = registry.example(registry.keyed_connectors(), 1)

DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy database URL (default: $PMM_DB or "
                                              "sqlite:///data/pmm.sqlite in the working directory).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def _db_url(db: str | None) -> str:
    if db:
        return db
    from pmm.store.db import default_db_url

    return default_db_url()


def _fail(exc: BaseException, log_file: Path | None = None) -> NoReturn:
    from pmm.errors import EXIT_INTERNAL, PmmError

    if isinstance(exc, PmmError):  # a ConfigError's message already lists every problem
        typer.echo(f"error: {exc}" + (f" (log: {log_file})" if log_file is not None else ""), err=True)
    else:
        where = f"the log {log_file} (it holds the traceback)" if log_file is not None else "the log above"
        typer.echo(f"internal error: {exc.__class__.__name__}: {exc}. This is a bug in pmm; please report it "
                   f"with {where}.", err=True)
        raise typer.Exit(EXIT_INTERNAL)
    raise typer.Exit(exc.exit_code)


def _show_version(value: bool) -> None:
    if value:
        from pmm import __version__

        typer.echo(f"pmm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print pmm's version and exit.")] = False,
) -> None:
    """pmm: an event-driven perpetual-futures market-making bot."""


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
    log_file: Annotated[Path | None, typer.Option("--log-file", help="Write the log here (default: "
                        "logs/pmm-<start>-<run>.log beside a SQLite store, else data/logs/).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug lines too.")] = False,
    metrics_port: Annotated[int | None, typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus "
                            "metrics on http://127.0.0.1:PORT/metrics (0 picks a free port).")] = None,
    db: DbOption = None,
) -> None:
    """Start the bot on a config; Ctrl-C or SIGTERM stops it cleanly (own orders cancelled)."""
    import asyncio
    import uuid
    from datetime import UTC, datetime

    from pmm.app import StartOptions, run_bot
    from pmm.config import load_config
    from pmm.connectors.common.venue_spec import ConnectorMode
    from pmm.errors import ConfigError
    from pmm.ui.live import LiveRun
    from pmm.ui.log_output import default_log_dir, log_file_name

    live: LiveRun | None = None
    try:
        cfg = load_config(config)
        for warning in cfg.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if fast and registry.mode_of(cfg.derivative) is not ConnectorMode.SIMULATED:
            raise ConfigError(f"--fast only works with the simulated exchange; `derivative` is {cfg.derivative}. "
                              f"Drop --fast, or use `derivative: sim_perpetual`.")
        run_id = uuid.uuid4().hex
        db_url = _db_url(db)
        log_path = log_file or default_log_dir(db_url) / log_file_name(run_id, datetime.now(UTC))
        live = LiveRun(interactive=sys.stdout.isatty() and not plain, log_file=log_path,
                       explicit_log_file=log_file is not None, verbose=verbose,
                       notice=lambda line: typer.echo(line, err=True))
        options = StartOptions(db_url=db_url, duration_s=duration, fast=fast, run_id=run_id,
                               metrics_port=metrics_port)
        ask = None
        from pmm.credentials import needs_password

        if sys.stdin.isatty() and needs_password(cfg.derivative):
            # Asked before the live view takes over the terminal.
            password = typer.prompt(f"Password for the stored {cfg.derivative} API key", hide_input=True)
            ask = lambda _prompt: password  # noqa: E731
        with live:
            result = asyncio.run(run_bot(cfg, options, on_engine=live.attach, ask_password=ask))
    except Exception as exc:  # one error handler for the whole command
        _fail(exc, live.log_file if live is not None else None)
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
    plot: Annotated[Path | None, typer.Option("--plot", help="Instead, draw equity, inventory and funding into "
                                              "this PNG file (needs matplotlib: the `plot` extra).")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Performance per market and per run: fills, volume, realized PnL, fees, funding, unrealized, net."""
    from pmm.ui.history_view import show_history

    try:
        show_history(_db_url(db), days=days, market=market, csv_path=csv_path, as_json=json_out, plot_path=plot)
    except Exception as exc:
        _fail(exc)


@app.command()
def stop(
    flatten: Annotated[bool, typer.Option("--flatten", help="Also close the bot's position with reduce-only "
                                          "orders (limit, then market after `risk.flatten_timeout_s`).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the bot to stop.")] = 120.0,
    run: Annotated[str | None, typer.Option("--run", help="The bot to stop, by its run id (or its start, as "
                                            "`pmm status` shows it); needed when several bots run.")] = None,
    db: DbOption = None,
) -> None:
    """Stop a running bot of this store, from any terminal or host: it cancels its orders and exits."""
    from pmm.ui.commands import stop_running_bot

    try:
        message = stop_running_bot(_db_url(db), flatten=flatten, timeout_s=timeout, run=run)
    except Exception as exc:
        _fail(exc)
    typer.echo(message)


@app.command()
def record(
    connector: Annotated[str, typer.Option("--connector", help="Connector id whose public feed to record, e.g. "
                                           f"{_KEYED_EXAMPLE}; or sim_perpetual with -c (its `sim:` market).")],
    market: Annotated[str, typer.Option("--market", help="The market, e.g. BTC-USDT.")],
    out: Annotated[Path, typer.Option("--out", help="The recording to write (gzip JSON lines, "
                                      "docs/replay_format.md).")],
    duration: Annotated[float | None, typer.Option("--duration", min=0.0, help="Stop after this many seconds "
                        "(default: until Ctrl-C).")] = None,
    config: Annotated[Path | None, typer.Option("-c", "--config", help="Take endpoint overrides (`connector:`) "
                                                "from this config.")] = None,
) -> None:
    """Record a venue's public market data (book, trades, mark, funding) for `pmm backtest`. No keys."""
    from pmm.backtest.cli_record import run_record

    try:
        run_record(connector, market.upper(), out, duration, config)
    except Exception as exc:
        _fail(exc)


@app.command()
def backtest(
    config: Annotated[Path, typer.Option("-c", "--config", help="Strategy config YAML file (its `sim:` section "
                                         "gives balances, fees and margin).")],
    data: Annotated[list[Path], typer.Option("--data", help="Recorded market data: `pmm record` recordings "
                                             "(repeat --data for several; they are played in time order) or "
                                             "Tardis.dev CSVs (incremental_book_L2, trades, derivative_ticker).")],
    t_from: Annotated[str | None, typer.Option("--from", help="Start here: UTC date/time (2026-01-01T08:00) or "
                                               "epoch seconds.")] = None,
    t_to: Annotated[str | None, typer.Option("--to", help="Stop here (same forms as --from).")] = None,
    latency_ms: Annotated[str | None, typer.Option("--latency-ms", help="Order entry and cancel latency, one way: "
                          "milliseconds, or `recorded` (the recording's receive minus venue time); default: the "
                          "config's `sim.latency_ms`.")] = None,
    queue: Annotated[str, typer.Option("--queue", help="Queue position model: risk_averse (no cancel ahead of "
                                       "us), probabilistic, trade_through (only prints through our price fill us), "
                                       "or none (a print at our price fills us).")] = "risk_averse",
    report: Annotated[Path, typer.Option("--report", help="Folder for report.json and the pictures.")] = Path(
        "backtest-report"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log the bot's lines (orders, fills) too.")] = False,
) -> None:
    """Run the strategy and the engine over recorded market data on a virtual clock; write a report."""
    from pmm.backtest.cli_backtest import run_backtest_command

    try:
        run_backtest_command(config, data, t_from, t_to, latency_ms, queue, report, verbose)
    except Exception as exc:
        _fail(exc)


@app.command("exchange-sim")
def exchange_sim(
    venue: Annotated[str, typer.Argument(help=f"The venue: {_SERVER_VENUES}; or a spot id ({_SPOT_SERVERS}) for "
                                          "that venue's spot market data (price sources, no keys).")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one "
                                      "and prints it.")] = 8080,
    api_key: Annotated[str | None, typer.Option("--api-key", help="The simulated account's API key.")] = None,
    api_secret: Annotated[str | None, typer.Option("--api-secret", help="The simulated account's API secret.")] = None,
    api_passphrase: Annotated[str | None, typer.Option("--api-passphrase", help="The simulated account's API key "
                                                       f"passphrase ({_PASSPHRASE_VENUES}).")] = None,
    config: Annotated[Path | None, typer.Option("-c", "--config", help="Take the simulated venue (markets, "
                                                "balances, fees) from this config's `sim:` section.")] = None,
    no_dcp: Annotated[bool, typer.Option("--no-dcp", help="An account whose dead-man switch is off (its requests "
                                         f"to arm it are refused); {_OPTIONAL_DMS_VENUES}.")] = False,
) -> None:
    """Serve a venue's REST + WebSocket dialect on 127.0.0.1 over the simulated exchange (for dry runs)."""
    import asyncio

    from pmm.config import load_config
    from pmm.errors import ConfigError
    from pmm.venue_servers import (
        DEFAULT_API_KEY,
        DEFAULT_API_SECRET,
        account_passphrase,
        public_only,
        serve,
        serve_spot,
        server_spec,
        sim_settings,
    )

    try:
        spec = server_spec(venue)
        settings = sim_settings(load_config(config) if config is not None else None)
        key, secret = api_key or DEFAULT_API_KEY, api_secret or DEFAULT_API_SECRET
        passphrase = None if public_only(venue) else account_passphrase(spec, api_passphrase)

        def ready(bound: int) -> None:
            markets = ", ".join(m.market for m in settings.markets)
            shown = f"secret {secret}" if api_secret is None else "the secret you passed"
            if passphrase is not None:
                shown += f", {spec.capabilities.passphrase_name} " + (
                    passphrase if api_passphrase is None else "you passed")
            account = "; account with its dead-man switch off" if no_dcp else ""
            keys = "public market data only, no keys" if public_only(venue) else f"API key {key}, {shown}{account}"
            typer.echo(f"{venue} exchange server on http://127.0.0.1:{bound} (WebSocket ws://127.0.0.1:{bound}); "
                       f"markets {markets}; {keys}. Ctrl-C to stop.", err=False)

        if public_only(venue):
            if no_dcp or api_passphrase is not None:
                raise ConfigError(f"`{venue}` serves public market data only: it has no account, so no "
                                  f"--no-dcp or --api-passphrase. Drop them.")
            asyncio.run(serve_spot(spec, settings, port=port, on_ready=ready))
        else:
            asyncio.run(serve(spec, settings, port=port, api_key=key, api_secret=secret, on_ready=ready,
                              passphrase=passphrase, dead_man_switch=not no_dcp))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        _fail(exc)


def _ask_new_password(connector: str, tries: int = 3) -> str:
    """A password for the key store, typed twice, long enough; asked again (up to `tries`) if not."""
    from pmm import credentials
    from pmm.errors import ConfigError

    problem = ""
    for _ in range(tries):
        password = typer.prompt(f"Password to encrypt them (at least {credentials.MIN_PASSWORD_CHARS} characters)",
                                hide_input=True)
        problem = credentials.password_problem(password) or ""
        if not problem and typer.prompt("Repeat the password", hide_input=True) != password:
            problem = "The two passwords differ."
        if not problem:
            return password
        typer.echo(problem, err=True)
    raise ConfigError(f"{problem} No key was stored: run `pmm connect {connector}` again.")


@app.command()
def connect(
    connector: Annotated[str, typer.Argument(help=f"Live or testnet connector id, e.g. {_KEYED_EXAMPLE}.")],
) -> None:
    """Store a connector's API key and secret (and passphrase, where its keys have one), encrypted with a
    password (scrypt + AES-GCM)."""
    from pmm import credentials
    from pmm.errors import ConfigError

    try:
        spec = registry.spec_of(connector)
        if spec is None and registry.planned(connector) is None:
            raise ConfigError(f"Unknown connector `{connector}`. Connectors that take keys: "
                              f"{', '.join(registry.keyed_connectors())}.")
        if spec is None or connector not in spec.keyed_connector_ids:
            coming = registry.planned(connector)
            why = (f"{coming.display_name} is planned but not built yet in this version of pmm" if coming is not None
                   else "it takes no API keys")
            raise ConfigError(f"Cannot store keys for `{connector}`: {why}. Connectors that take keys: "
                              f"{', '.join(registry.keyed_connectors())}.")
        # Neither the key nor the secret is echoed: a screen or a recording would show them.
        key = typer.prompt(f"{connector} API key", hide_input=True).strip()
        secret = typer.prompt(f"{connector} API secret", hide_input=True).strip()
        passphrase_name = spec.capabilities.passphrase_name
        passphrase = None
        if passphrase_name is not None:
            passphrase = typer.prompt(f"{connector} API {passphrase_name}", hide_input=True).strip()
        password = _ask_new_password(connector)
        path = credentials.save(connector, credentials.Credentials(key, secret, passphrase), password)
    except Exception as exc:
        _fail(exc)
    env_vars = "/".join(credentials.env_names(connector)) + (
        "" if passphrase is None else "/" + credentials.passphrase_env_name(connector))
    typer.echo(f"Stored the {connector} API key ({credentials.mask(key)}) in {path}, encrypted with your password "
               f"(readable by you only). `pmm start` asks for the password, or reads PMM_PASSWORD. "
               f"{env_vars} override it.")


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()


if __name__ == "__main__":
    main()
