"""Prometheus metrics of one bot: `pmm start --metrics-port N` serves them on 127.0.0.1:N/metrics.

The engine knows nothing of Prometheus. Two narrow seams feed this module:
- the engine's `Recorder` interface (what the store is told): `MetricsRecorder` counts fills and
  measures each order's round trip, from the placement (or cancel) being sent to the venue's answer;
- the status payload (`Engine.status()`, the view `pmm status` and the live view read): every gauge
  is read from it when Prometheus scrapes, on the event loop, so a scrape never sees a half-applied
  event.

Each bot has its own `CollectorRegistry` (never the global one), so one process can serve several.
Money is exported as floats in the quote asset: fine for graphs and alerts, the store keeps exact values.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from pmm.core.events import FundingPaymentReceived, OrderFilled
from pmm.core.model import OrderStatus, Position, PositionSide
from pmm.errors import ConfigError

log = logging.getLogger("pmm.metrics")

StatusView = Callable[[], dict[str, Any]]
LABELS = ("connector", "market")

# Loopback round trips are milliseconds; a venue across the world or a slow matching engine, seconds.
ROUND_TRIP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The venue's answers to a placement (a cancel sent before it does not answer it).
_PLACE_ANSWERS = {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.REJECTED}


class MetricsRecorder:
    """The `Recorder` side: fills counted, order round trips timed (engine clock seconds)."""

    def __init__(self, histogram: Histogram, labels: tuple[str, str]) -> None:
        self._round_trip = histogram
        self._labels = labels
        self.fills = 0
        self._placing: dict[str, float] = {}  # client id -> when the placement was sent
        self._cancelling: dict[str, float] = {}  # client id -> when the cancel was sent

    def order_changed(self, order: Any) -> None:
        client_id, status = str(order.client_id), order.status
        if status is OrderStatus.PENDING_NEW:
            self._placing.setdefault(client_id, order.created_ts)
            return
        if status in _PLACE_ANSWERS:
            sent = self._placing.pop(client_id, None)
            if sent is not None:
                self._round_trip.labels(*self._labels, "place").observe(max(0.0, order.updated_ts - sent))
        elif status is OrderStatus.CANCELLED:
            self._placing.pop(client_id, None)
        if status is OrderStatus.PENDING_CANCEL and order.cancel_sent_ts is not None:
            self._cancelling[client_id] = order.cancel_sent_ts
        elif status in (OrderStatus.CANCELLED, OrderStatus.FILLED):
            cancel_sent = self._cancelling.pop(client_id, None)
            if cancel_sent is not None:
                self._round_trip.labels(*self._labels, "cancel").observe(max(0.0, order.updated_ts - cancel_sent))
        elif status is OrderStatus.REJECTED:
            self._cancelling.pop(client_id, None)

    def fill(self, event: OrderFilled) -> None:
        self.fills += 1

    def funding(self, event: FundingPaymentReceived) -> None:
        pass

    def position(self, market: str, side: PositionSide, position: Position | None, ts: float) -> None:
        pass

    def status(self, payload: dict[str, Any], ts: float) -> None:
        pass

    def venue_state(self, state: dict[str, Any], ts: float) -> None:
        pass

    def heartbeat(self, ts: float) -> None:
        pass


def _number(value: Any) -> float:
    return float(Decimal(value)) if value not in (None, "") else 0.0


class _StatusCollector:
    """Gauges and counters read from the status payload at scrape time."""

    def __init__(self, recorder: MetricsRecorder, labels: tuple[str, str]) -> None:
        self._recorder = recorder
        self._labels = list(labels)
        self.view: StatusView | None = None

    def collect(self) -> Iterator[Metric]:
        labels, values = list(LABELS), self._labels
        fills = CounterMetricFamily("pmm_fills", "Fills recorded by this bot (as written to the store).",
                                    labels=labels)
        fills.add_metric(values, self._recorder.fills)
        yield fills
        if self.view is None:
            return
        payload = self.view()

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=labels)
            family.add_metric(values, value)
            return family

        positions = payload.get("positions") or []
        net = sum((Decimal(p["amount"]) * (1 if p["side"] == "long" else -1) for p in positions), Decimal(0))
        session = payload.get("session") or {}
        yield gauge("pmm_position", "Net position in base units (long positive, short negative).", float(net))
        yield gauge("pmm_unrealized_pnl", "Unrealized PnL of the open position at the mark (quote asset).",
                    _number(session.get("unrealized_pnl")))
        yield gauge("pmm_realized_pnl", "Realized PnL of this run's fills (quote asset).",
                    _number(session.get("realized_pnl")))
        yield gauge("pmm_fees", "Fees paid by this run (quote asset).", _number(session.get("fees")))
        yield gauge("pmm_funding", "Funding received (positive) or paid (negative) by this run (quote asset).",
                    _number(session.get("funding")))
        yield gauge("pmm_net_pnl", "realized - fees + funding + unrealized (quote asset).",
                    _number(session.get("net_pnl")))
        yield gauge("pmm_open_orders", "Own orders not finished at the venue.", len(payload.get("orders") or []))
        yield gauge("pmm_quoting", "1 while the bot quotes, 0 otherwise (`pmm status` says why).",
                    1.0 if payload.get("quoting") else 0.0)
        yield gauge("pmm_kill_switch_tripped", "1 once the kill switch has tripped, else 0.",
                    1.0 if payload.get("kill_switch") else 0.0)
        age = payload.get("book_age_s")
        if age is not None:
            yield gauge("pmm_book_age_seconds", "Seconds since the last order book update of the traded market.",
                        float(age))
        reconnects = CounterMetricFamily("pmm_reconnects", "Connections to the venue restored after a drop.",
                                         labels=labels)
        reconnects.add_metric(values, int(payload.get("reconnects") or 0))
        yield reconnects
        use = payload.get("rate_limit_use")
        if use is not None:
            yield gauge("pmm_rate_limit_use_ratio", "Largest share of a venue rate limit in use (1 = exhausted).",
                        float(use))


class BotMetrics:
    """One bot's registry, its recorder and its HTTP endpoint. Every metric is labelled with the
    bot's connector and market."""

    def __init__(self, connector: str, market: str) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        histogram = Histogram("pmm_order_round_trip_seconds",
                              "From sending a placement or cancel to the venue's answer (engine clock).",
                              labelnames=[*LABELS, "action"], buckets=ROUND_TRIP_BUCKETS, registry=self.registry)
        self.recorder = MetricsRecorder(histogram, (connector, market))
        self._collector = _StatusCollector(self.recorder, (connector, market))
        self.registry.register(self._collector)
        self.port: int | None = None
        self._runner: Any = None

    def read_status_from(self, view: StatusView) -> None:
        self._collector.view = view

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    async def serve(self, port: int) -> int:
        """Listen on 127.0.0.1:`port` (0 picks a free one); returns the port."""
        from aiohttp import web

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"Cannot serve metrics on 127.0.0.1:{port}: {exc.strerror or exc}. Choose another "
                              f"--metrics-port (0 picks a free one).") from exc

        async def metrics(_request: web.Request) -> web.Response:
            return web.Response(body=self.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.port = sock.getsockname()[1]
        log.info("Prometheus metrics on http://127.0.0.1:%d/metrics", self.port)
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
