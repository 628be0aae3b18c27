"""The REST half of every loopback venue server: routes, and the middleware around each handler.

A venue server subclasses `KitServer`, lists its endpoints as `Route`s and its WebSocket paths, and
supplies a `RestDialect`: how the venue wraps a success and a refusal, how it verifies a signed
request (its own `auth` module) and how it words the framework's refusals (bad parameter, body
not JSON, unknown route, rate limit, injected failure, internal error). Every request then goes:

    injected delay "before" -> injected failure (answered now, unless it lets the request run)
    -> rate limit of the endpoint -> signature check (signed routes) -> handler
    -> envelope -> (an injected failure that let the request run answers now) -> delay "after"

Handlers take a `WireRequest` and return the data to wrap, or raise `WireError` / `ParamError` /
`BadBody`. Anything else they raise is logged and answered as the venue's internal error.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.wire import BadBody, ParamError, WireError, WireRequest
from pmm.connectors.common.sim_server import LoopbackVenueServer
from pmm.connectors.common.wire_json import dumps
from pmm.core.clock import Clock

log = logging.getLogger(__name__)

Handler = Callable[[WireRequest], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Route:
    """One endpoint: `limit` = (requests, seconds) per rolling window, None for no limit."""

    method: str
    path: str
    handler: Handler
    signed: bool = False
    limit: tuple[int, float] | None = None


class RestDialect(Protocol):
    """What a venue says on its REST wire (see module docstring)."""

    def success(self, data: Any) -> Any: ...
    def refusal(self, err: WireError) -> Any: ...
    def verify(self, req: WireRequest) -> None: ...
    def param_error(self, err: ParamError) -> WireError: ...
    def bad_body(self) -> WireError: ...
    def not_found(self, req: WireRequest) -> WireError: ...
    def rate_limited(self, req: WireRequest) -> WireError: ...
    def injected(self, failure: Failure) -> WireError: ...
    def internal_error(self) -> WireError: ...


class WindowLimiter:
    """Requests per endpoint in a rolling window (the venue's per-endpoint limits)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def admit(self, key: str, limit: tuple[int, float] | None, weight: int = 1) -> bool:
        """Count `weight` units (a batch counts its orders) unless the window is full."""
        if limit is None:
            return True
        count, window = limit
        now = self._clock.now()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) + weight > count:
            return False
        hits.extend([now] * weight)
        return True

    def remaining(self, key: str, limit: tuple[int, float] | None) -> int | None:
        """What is left of `key`'s window now (a venue's rate-limit header); None without a limit."""
        if limit is None:
            return None
        count, window = limit
        now = self._clock.now()
        return max(0, count - sum(1 for t in self._hits.get(key, ()) if t > now - window))

    def window_state(self, key: str, limit: tuple[int, float]) -> tuple[int, float]:
        """(requests left, when the oldest counted one leaves the window) of `key` as the last
        `admit` left it: what venues report in their rate-limit headers."""
        count, window = limit
        hits = self._hits.get(key)
        oldest = hits[0] if hits else self._clock.now()
        return count - len(hits or ()), oldest + window


class KitServer(LoopbackVenueServer):
    """A venue's REST endpoints and WebSocket paths over the kit (see module docstring)."""

    dialect: RestDialect
    faults: KitFaults
    hub: StreamHub
    limiter: WindowLimiter

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def ws_paths(self) -> dict[str, str]:
        """WebSocket path -> the kind of socket the hub serves there ("public", "private", ...)."""
        raise NotImplementedError

    # --- aiohttp wiring ---------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        for route in self.routes():
            app.router.add_route(route.method, route.path, self._serve(route))
        for path, kind in self.ws_paths().items():
            app.router.add_get(path, self._websocket(kind))
        app.router.add_route("*", "/{tail:.*}", self._unknown)

    def _serve(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            path = request.path
            await self._delay(path, "before")
            failure = self.faults.take_failure(path, request.method)
            if failure is not None and not failure.execute:
                return self._failure_response(failure)
            req = WireRequest(request.method, path, request.raw_path, await request.read(), request.headers)
            response = await self._answer(route, req)
            if failure is not None:
                return self._failure_response(failure)
            await self._delay(path, "after")
            return response

        return serve

    # --- hooks a venue may override --------------------------------------------------------------

    def admit(self, route: Route, req: WireRequest) -> None:
        """Count the request against the venue's limits; raise the venue's refusal over them.
        Default: `route.limit` requests per rolling window per endpoint."""
        if not self.limiter.admit(f"{route.method} {route.path}", route.limit):
            raise self.dialect.rate_limited(req)

    def response_headers(self, route: Route, req: WireRequest) -> dict[str, str]:
        """Headers of a successful answer (a venue's rate-limit headers, say). Default: none."""
        return {}

    async def _answer(self, route: Route, req: WireRequest) -> web.Response:
        try:
            self.admit(route, req)
            if route.signed:
                self.dialect.verify(req)
            data = await route.handler(req)
            headers = {**req.reply_headers, **self.response_headers(route, req)}
            return self._json(200, self.dialect.success(data), headers)
        except WireError as err:
            return self._refusal(err, req.reply_headers)
        except ParamError as err:
            return self._refusal(self.dialect.param_error(err), req.reply_headers)
        except BadBody:
            return self._refusal(self.dialect.bad_body(), req.reply_headers)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s server: %s %s failed", self.venue, req.method, req.path)
            return self._refusal(self.dialect.internal_error(), req.reply_headers)

    def _websocket(self, kind: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            refusal = await self._refuse_upgrade(request)
            return refusal if refusal is not None else await self.hub.handle(request, kind)

        return serve

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        req = WireRequest(request.method, request.path, request.raw_path, await request.read(), request.headers)
        return self._refusal(self.dialect.not_found(req))

    def _failure_response(self, failure: Failure) -> web.Response:
        headers: dict[str, str] = {}
        if failure.retry_after is not None:
            seconds = failure.retry_after
            headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        return self._refusal(self.dialect.injected(failure), headers, status=failure.status)

    def _refusal(self, err: WireError, headers: dict[str, str] | None = None, *,
                 status: int | None = None) -> web.Response:
        """The venue's refusal: its envelope, or the plain text the error carries; `err.headers` win."""
        status = err.status if status is None else status
        all_headers = {**(headers or {}), **err.headers}
        if err.text is not None:
            return web.Response(status=status, text=err.text, headers=all_headers)
        return self._json(status, self.dialect.refusal(err), all_headers)

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str]) -> web.Response:
        return web.Response(status=status, text=dumps(body), content_type="application/json", headers=headers)
