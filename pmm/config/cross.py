"""Rules that involve more than one key (reference §1), and the defaults that depend on others.

Each rule names the keys it reads; the loader passes the set of keys that are invalid or
missing, and a rule reading any of them is skipped, so one typo does not cause a cascade of
follow-on problems while every independent problem is still reported in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmm.config.models import BotConfig
from pmm.config.names import SIM_CONNECTOR, uses_sim_venue
from pmm.config.rules import Url
from pmm.config.sim import ReplayGenerator, SimMarketConfig
from pmm.connectors import registry
from pmm.strategy.params import PriceSource, PriceType

MARKET_PRICE_TYPES = tuple(t.value for t in PriceType if t is not PriceType.CUSTOM)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, with the YAML key path it is about (used to sort problems by line)."""

    path: tuple[str | int, ...]
    text: str


def _q(text: str) -> str:
    return f'"{text}"'


def complete(config: BotConfig) -> BotConfig:
    """Fill in defaults that depend on other keys.

    - `price_type` is forced to custom when `price_source` is custom_api and it was not set.
    - Simulated markets named by `market` (and by `price_source_market`, when the external
      source is `sim_perpetual`) get a default synthetic generator when `sim.markets` lacks them.
    """
    update: dict[str, object] = {}
    if (
        config.price_source is PriceSource.CUSTOM_API
        and "price_type" not in config.model_fields_set
    ):
        update["price_type"] = PriceType.CUSTOM
    markets = dict(config.sim.markets)
    if config.derivative == SIM_CONNECTOR and config.market not in markets:
        markets[config.market] = SimMarketConfig()
    if (
        config.price_source is PriceSource.EXTERNAL_MARKET
        and config.price_source_derivative == SIM_CONNECTOR
        and config.price_source_market is not None
        and config.price_source_market not in markets
    ):
        markets[config.price_source_market] = SimMarketConfig()
    if markets != config.sim.markets:
        update["sim"] = config.sim.model_copy(update={"markets": markets})
    if not update:
        return config
    completed = config.model_copy(update=update)
    # model_copy keeps private attributes, but only when they are already set; be explicit.
    completed._path, completed._source_text = config._path, config._source_text
    return completed


def problems(config: BotConfig, skip: frozenset[str]) -> list[Problem]:
    """Every cross-field problem whose keys are all valid (not in `skip`)."""
    found: list[Problem] = []

    def ok(*keys: str) -> bool:
        return not skip.intersection(keys)

    c = config
    if ok("price_ceiling", "price_floor") and c.price_ceiling != -1 and c.price_floor != -1:
        if c.price_ceiling < c.price_floor:
            found.append(
                Problem(
                    ("price_ceiling",),
                    f"`price_ceiling` must not be lower than `price_floor` ({c.price_floor}), "
                    f"was {c.price_ceiling}.",
                )
            )

    source = c.price_source
    if ok("price_source") and source is PriceSource.EXTERNAL_MARKET:
        for key, example in (
            ("price_source_derivative", f"a connector such as {registry.example(registry.keyed_connectors(), 1)}"),
            ("price_source_market", "a trading pair like BASE-QUOTE (e.g. BTC-USDT)"),
        ):
            if ok(key) and getattr(c, key) is None:
                found.append(
                    Problem(
                        (key,),
                        f"`{key}` is required when `price_source` is external_market: {example}.",
                    )
                )
        if (
            ok("price_source_derivative", "price_source_market", "derivative", "market")
            and c.price_source_derivative == c.derivative
            and c.price_source_market == c.market
        ):
            found.append(
                Problem(
                    ("price_source_derivative",),
                    "`price_source_derivative` may equal `derivative` only when "
                    f"`price_source_market` differs from `market` (both are {c.market}), "
                    f"was {_q(c.derivative)}.",
                )
            )

    if ok("price_source", "price_source_derivative", "derivative") and source is PriceSource.EXTERNAL_MARKET:
        problem = _unreadable_price_source(c.price_source_derivative, c.derivative)
        if problem is not None:
            found.append(Problem(("price_source_derivative",), problem))

    if ok("price_source") and source is PriceSource.CUSTOM_API:
        if ok("price_source_custom_api") and c.price_source_custom_api is None:
            found.append(
                Problem(
                    ("price_source_custom_api",),
                    "`price_source_custom_api` is required when `price_source` is custom_api: "
                    f"{Url(('http', 'https')).expected}.",
                )
            )
        if ok("price_type") and c.price_type is not PriceType.CUSTOM:
            found.append(
                Problem(
                    ("price_type",),
                    "`price_type` must be custom when `price_source` is custom_api, "
                    f"was {_q(c.price_type.value)}.",
                )
            )
    elif ok("price_source", "price_type") and c.price_type is PriceType.CUSTOM:
        found.append(
            Problem(
                ("price_type",),
                f"`price_type` must be one of {', '.join(MARKET_PRICE_TYPES)} when "
                f"`price_source` is {source.value} (custom is only for custom_api), "
                f'was "custom".',
            )
        )

    if ok("derivative", "market", "leverage", "sim") and c.derivative == SIM_CONNECTOR:
        maker = c.sim.markets.get(c.market)
        if maker is not None and c.leverage > maker.max_leverage:
            found.append(
                Problem(
                    ("leverage",),
                    f"`leverage` must be at most `sim.markets.{c.market}.max_leverage` "
                    f"({maker.max_leverage}), was {c.leverage}.",
                )
            )

    if ok("exchange_stop_loss", "stop_loss_spread") and c.exchange_stop_loss and c.stop_loss_spread == 0:
        found.append(
            Problem(
                ("stop_loss_spread",),
                "`stop_loss_spread` must be above 0 when `exchange_stop_loss` is true (the stop resting at "
                "the venue triggers at the stop-loss price, entry -/+ stop_loss_spread); set it, or set "
                "`exchange_stop_loss` to false, was 0.",
            )
        )

    if ok("sim"):
        for name, market in c.sim.markets.items():
            generator = market.generator
            if isinstance(generator, ReplayGenerator):
                resolved = generator.resolved_path(c.base_dir)
                if not resolved.is_file():
                    found.append(
                        Problem(
                            ("sim", "markets", name, "generator", "path"),
                            f"`sim.markets.{name}.generator.path` must name an existing file "
                            f"(relative to the config file's folder; looked for {resolved}), "
                            f"was {_q(generator.path)}.",
                        )
                    )
    return found


def _unreadable_price_source(source: str | None, derivative: str) -> str | None:
    """Why no feed of `source` can exist for this config, or None. (Another market of the maker's
    own connector is read by that connector: nothing to check here.)"""
    if source is None or source == derivative:
        return None
    from pmm.connectors.registry import price_sources  # lazy: the ids only, no venue code

    readable = price_sources()
    if source in readable:
        return None
    if source == SIM_CONNECTOR:
        return (f"`price_source_derivative` may be {SIM_CONNECTOR} only when `derivative` is {SIM_CONNECTOR} too "
                f"(its markets exist only inside pmm's simulated venue); use a venue such as "
                f"{readable[0]}, was {_q(source)}.")
    return (f"`price_source_derivative` must be a price source this version of pmm can read "
            f"({', '.join(readable)}); {source} is known but its market data feed is not built yet, "
            f"was {_q(source)}.")


def warnings(config: BotConfig, raw_keys: frozenset[str]) -> tuple[str, ...]:
    """Keys that load but have no effect with the rest of the config."""
    c = config
    notes: list[str] = []
    if c.price_source is not PriceSource.EXTERNAL_MARKET:
        ignored = [k for k in ("price_source_derivative", "price_source_market") if getattr(c, k)]
        if ignored:
            keys = " and ".join(f"`{k}`" for k in ignored)
            notes.append(f"{keys} ignored: `price_source` is {c.price_source.value}.")
    if c.price_source is not PriceSource.CUSTOM_API and c.price_source_custom_api:
        notes.append(
            f"`price_source_custom_api` ignored: `price_source` is {c.price_source.value}."
        )
    source_urls = [k for k in ("price_source_rest_url", "price_source_ws_url") if getattr(c.connector, k)]
    if source_urls and c.price_source is not PriceSource.EXTERNAL_MARKET:
        keys = " and ".join(f"`connector.{k}`" for k in source_urls)
        notes.append(f"{keys} ignored: `price_source` is {c.price_source.value}.")
    if c.order_optimization_enabled and c.order_levels > 1 and not c.order_override:
        notes.append("`order_optimization_enabled` has no effect when `order_levels` > 1.")
    external_sim = (
        c.price_source is PriceSource.EXTERNAL_MARKET and c.price_source_derivative == SIM_CONNECTOR
    )
    if "sim" in raw_keys and not (uses_sim_venue(c.derivative) or external_sim):
        notes.append(f"`sim` ignored: `derivative` {c.derivative} is not simulated.")
    return tuple(notes)
