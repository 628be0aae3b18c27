"""Soak (issue 6): a simulated week of `pmm start --fast` on sim_perpetual with faults injected
every few simulated minutes, then the books are checked. Run by hand, not by the test suite:

    python -m benchmarks.soak_week                 # a simulated week (168 h)
    python -m benchmarks.soak_week --hours 6       # shorter
    python -m benchmarks.soak_week --every-min 5 --seed 2 --config configs/quickstart.yml

The connector is the real sim_perpetual one with its gateway and feed wrapped (as
tests/engine/test_reconciliation.py's FlakyGateway does) so that, in turn:
- a cancel request vanishes (no answer, no error);
- a placement's answer is lost after the venue took the order, or before it reached the venue
  (both `OrderOutcomeUnknown`);
- a placement is refused (insufficient margin);
- a fill event of the private stream is lost;
- the order book must resync (`BookResyncRequired`; a fresh snapshot 5 s later, diffs dropped);
- the private stream disconnects for 3 to 30 s (its events held back until it reconnects, as the
  live connectors re-read the account after a reconnect).

Printed: fills, funding payments, faults injected and recoveries by kind, the ledger difference
(the store's fills and funding against the simulated account's wallet: must be 0), fills at the
venue that the store lacks or has twice (must be none), orders left open (must be none), and the
process RSS at start and end. Exit 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    ConnectionChanged,
    OrderAccepted,
    OrderFilled,
)
from pmm.core.model import OrderStatus, Side
from pmm.errors import InsufficientMargin, OrderOutcomeUnknown

FAULTS = ["lost cancel", "lost answer (order placed)", "lost placement (never placed)", "refused placement",
          "lost fill event", "book resync", "private stream disconnect"]
RESYNC_S = 5.0


def rss_mib() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB, from /proc."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


@dataclass
class Faults:
    """When the next fault is due and which one; what was injected and what recovered."""

    clock: Any
    every_s: float
    rng: random.Random
    next_at: float = 0.0
    armed: str | None = None  # a call- or event-triggered fault waiting for its call or event
    injected: Counter[str] = field(default_factory=Counter)
    recovered: Counter[str] = field(default_factory=Counter)
    _order: list[str] = field(default_factory=list)

    def due(self) -> str | None:
        """The fault to start now, if its time has come (one at a time, every kind in turn)."""
        now = self.clock.now()
        if self.armed is not None or now < self.next_at:
            return None
        if not self._order:
            self._order = self.rng.sample(FAULTS, len(FAULTS))
        self.next_at = now + self.every_s * self.rng.uniform(0.5, 1.5)
        return self._order.pop()

    def take(self, kind: str) -> bool:
        """True once when the armed fault is `kind` (it is then spent)."""
        if self.armed == kind:
            self.armed = None
            self.injected[kind] += 1
            return True
        return False


class FaultyGateway:
    """The sim gateway with lost cancels, lost or refused placements, lost fills and disconnects."""

    def __init__(self, inner: Any, faults: Faults, clock: Any) -> None:
        self._inner = inner
        self._faults = faults
        self._clock = clock
        self._emit: Any = None
        self.down_until: float | None = None
        self._held: list[Any] = []
        self.lost_fills: list[str] = []  # trade ids of the fill events dropped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def start(self, emit: Any) -> None:
        self._emit = emit
        await self._inner.start(self._on_event)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, OrderFilled) and self._faults.take("lost fill event"):
            self.lost_fills.append(event.trade_id)
            return
        if self.down_until is not None:
            self._held.append(event)
            return
        self._emit(event)

    def disconnect(self, seconds: float) -> None:
        now = self._clock.now()
        self.down_until = now + seconds
        self._emit(ConnectionChanged(self._inner.connector_id, "account", False, "injected disconnect", now, now))

    def maybe_reconnect(self) -> None:
        now = self._clock.now()
        if self.down_until is not None and now >= self.down_until:
            self.down_until = None
            self._emit(ConnectionChanged(self._inner.connector_id, "account", True, "reconnected", now, now))
            held, self._held = self._held, []
            for event in held:
                self._emit(event)

    async def place_order(self, request: Any) -> None:
        faults = self._faults
        if faults.take("lost placement (never placed)"):
            raise OrderOutcomeUnknown("injected: the request never reached the venue")
        if faults.take("refused placement"):
            raise InsufficientMargin("injected: margin is insufficient", "-2019")
        await self._inner.place_order(request)
        if faults.take("lost answer (order placed)"):
            raise OrderOutcomeUnknown("injected: the venue took the order, its answer was lost")

    async def cancel_order(self, market: str, client_id: Any) -> None:
        if self._faults.take("lost cancel"):
            return  # the request vanished: no answer, no error
        await self._inner.cancel_order(market, client_id)


class FaultyFeed:
    """The sim feed, which also drives the time-based faults (book resyncs, disconnects)."""

    def __init__(self, inner: Any, faults: Faults, gateway: FaultyGateway, exchange: Any, clock: Any) -> None:
        self._inner = inner
        self._faults = faults
        self._gateway = gateway
        self._exchange = exchange
        self._clock = clock
        self._emit: Any = None
        self._resync_until: dict[str, float] = {}
        self.next_rss_at = clock.now()
        self.rss_by_day: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def start(self, markets: Any, emit: Any) -> None:
        self._emit = emit
        self._markets = list(markets)
        await self._inner.start(markets, self._on_event)

    def _on_event(self, event: Any) -> None:
        now = self._clock.now()
        if now >= self.next_rss_at:  # RSS once per simulated day: growth or a plateau?
            self.next_rss_at = now + 86400.0
            self.rss_by_day.append(rss_mib()[0])
        self._gateway.maybe_reconnect()
        kind = self._faults.due()
        if kind == "book resync":
            self._faults.injected[kind] += 1
            for market in self._markets:
                self._resync_until[market] = now + RESYNC_S
                self._emit(BookResyncRequired(market, "injected: a sequence gap", now, now))
        elif kind == "private stream disconnect":
            self._faults.injected[kind] += 1
            self._gateway.disconnect(self._faults.rng.uniform(3.0, 30.0))
        elif kind is not None:
            self._faults.armed = kind
        market = getattr(event, "market", None)
        until = self._resync_until.get(market) if market is not None else None
        if until is not None and isinstance(event, (BookDelta, BookSnapshot)):
            if now < until:
                return  # diffs of a book that is resyncing are dropped
            del self._resync_until[market]
            book = self._exchange.book(market)
            self._emit(BookSnapshot(market, tuple(book.levels(Side.BUY)), tuple(book.levels(Side.SELL)), 0, now, now))
            self._faults.recovered["book resynced"] += 1
            if isinstance(event, BookSnapshot):
                return
        self._emit(event)


class Recoveries(logging.Handler):
    """Counts what the bot logs when it recovers from a fault."""

    PATTERNS: ClassVar[dict[str, str]] = {
        "unanswered cancel sent again": "unanswered; sending it again",
        "unknown order settled from the venue": "is not open at the venue; settled",
        "unknown placement kept in flight": "has an unknown outcome",
        "refused placement dropped": "rejected:",
        "private stream reconnected": " account reconnected after",
        "all orders cancelled after a long disconnect": "cancelling every own order and reconciling",
        "quotes pulled while the book resynced": "order book not ready",
    }

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for name, pattern in self.PATTERNS.items():
            if pattern in message:
                self.counts[name] += 1


async def soak(args: argparse.Namespace) -> int:
    from pmm import app
    from pmm.config import load_config
    from pmm.connectors import registry
    from pmm.store import queries
    from pmm.store.db import open_engine
    from pmm.store.performance import ledger_difference

    config = load_config(args.config)
    if config.derivative != "sim_perpetual":
        raise SystemExit("the soak runs on sim_perpetual (derivative: sim_perpetual)")
    db_path = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="pmm-soak-")) / "soak.sqlite"
    url = f"sqlite:///{db_path}"
    built: dict[str, Any] = {}
    real_build = registry.build_connector

    def build_connector(name: str, cfg: Any, **kwargs: Any) -> Any:
        bundle = real_build(name, cfg, **kwargs)
        exchange = bundle.feed._exchange
        faults = Faults(bundle.clock, args.every_min * 60.0, random.Random(args.seed))
        faults.next_at = bundle.clock.now() + faults.every_s
        gateway = FaultyGateway(bundle.gateway, faults, bundle.clock)
        bundle.gateway = gateway
        bundle.feed = feed = FaultyFeed(bundle.feed, faults, gateway, exchange, bundle.clock)
        built.update(feed=feed, exchange=exchange, faults=faults, gateway=gateway,
                     start_wallet={b.asset: b.total for b in exchange.balances()})
        return bundle

    registry.build_connector = build_connector
    recoveries = Recoveries()
    pmm_log = logging.getLogger("pmm")
    pmm_log.setLevel(logging.INFO)
    pmm_log.addHandler(recoveries)
    pmm_log.propagate = False
    adopted = Counter[str]()

    def on_engine(engine: Any) -> None:
        handle = engine._handle

        def spy(event: Any) -> None:
            if isinstance(event, OrderAccepted):
                order = engine.tracker.get(event.client_id)
                if order is not None and order.status is OrderStatus.UNKNOWN:
                    adopted["unknown placement found open at the venue"] += 1
            handle(event)

        engine._handle = spy

    rss_start = rss_mib()[0]
    t0 = time.monotonic()
    print(f"soak: {args.hours:g} simulated hours on sim_perpetual ({args.config}), a fault every "
          f"~{args.every_min:g} simulated min (seed {args.seed}); store {url}", flush=True)
    result = await app.run_bot(config, app.StartOptions(db_url=url, duration_s=args.hours * 3600.0, fast=True),
                               install_signal_handlers=False, on_engine=on_engine)
    wall = time.monotonic() - t0
    rss_end, rss_peak = rss_mib()
    exchange, faults = built["exchange"], built["faults"]
    quote = config.market.split("-")[-1]
    end_wallet = {b.asset: b.total for b in exchange.balances()}
    db = open_engine(url)
    fills, funding = queries.fills(db), queries.funding_payments(db)
    difference = ledger_difference(built["start_wallet"][quote], end_wallet[quote], fills, funding, asset=quote)
    venue_fills = Counter(f.trade_id for f in exchange.fills_since(0))
    stored_fills = Counter(f.trade_id for f in fills)
    missing = sorted((venue_fills - stored_fills).elements())
    doubled = sorted(t for t, n in stored_fills.items() if n > 1)
    invented = sorted((stored_fills - venue_fills).elements())
    venue_funding = len(exchange.funding_payments_since(0))
    open_at_venue = exchange.open_orders()
    open_in_store = queries.open_orders(db, result.run_id)

    print(f"\nran {args.hours:g} simulated hours in {wall:.1f} s wall ({result.events} events): {result.reason}")
    print(f"fills: {len(fills)} recorded, {sum(venue_fills.values())} at the venue")
    print(f"funding payments: {len(funding)} recorded, {venue_funding} at the venue")
    print(f"faults injected: {sum(faults.injected.values())}")
    for kind in FAULTS:
        print(f"  {kind:34} {faults.injected[kind]}")
    lost = built["gateway"].lost_fills
    adopted["lost fill event recorded anyway"] = sum(1 for t in lost if stored_fills[t] == 1)
    print("recoveries:")
    for name, count in [*recoveries.counts.items(), *faults.recovered.items(), *adopted.items()]:
        print(f"  {name:45} {count}")
    print(f"ledger difference: {difference.normalize()} {quote} (store fills and funding vs the simulated wallet; "
          "must be 0)")
    print(f"fills missing from the store: {len(missing)}, recorded twice: {len(doubled)}, not at the venue: "
          f"{len(invented)}")
    print(f"orders left open: {len(open_at_venue)} at the venue, {len(open_in_store)} in the store")
    print(f"RSS: {rss_start:.1f} MiB at start, {rss_end:.1f} MiB at end (peak {rss_peak:.1f} MiB); at the start of "
          f"each simulated day: {', '.join(f'{v:.1f}' for v in built['feed'].rss_by_day)} MiB")
    ok = (difference == Decimal(0) and not missing and not doubled and not invented and not open_at_venue
          and not open_in_store and len(funding) == venue_funding
          and adopted["lost fill event recorded anyway"] == len(lost))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=168.0, help="simulated hours (default: a week, 168)")
    parser.add_argument("--every-min", type=float, default=20.0, help="simulated minutes between faults (about)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault schedule")
    parser.add_argument("--config", default=str(REPO / "configs" / "quickstart.yml"), help="a sim_perpetual config")
    parser.add_argument("--db", default=None, help="SQLite file for the run's store (default: a temporary one)")
    args = parser.parse_args(argv)
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
