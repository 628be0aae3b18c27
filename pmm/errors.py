"""The error hierarchy, grouped by what the caller must do.

    PmmError
    ├── ConfigError                 bad config or usage: fix the input (exit 2)
    ├── AuthError                   missing or rejected credentials (exit 3)
    ├── ExchangeUnavailable         venue unreachable or refusing service (exit 4)
    │   └── RateLimited             back off for `retry_after` seconds, then retry
    ├── OrderOutcomeUnknown         timeout/disconnect during place or cancel: reconcile, do not assume
    ├── OrderError                  the venue refused this order: drop it, keep running
    │   ├── InsufficientMargin
    │   ├── BelowMinSize
    │   ├── BelowMinNotional
    │   ├── InvalidPrice            off tick, or not positive
    │   ├── PostOnlyWouldCross
    │   ├── ReduceOnlyRejected      reduce-only order would increase the position
    │   └── UnknownOrder            cancel of an order the venue does not know
    ├── VenueSetupError             leverage / position mode / margin mode could not be set (exit 4)
    ├── StoreUnavailable            the database server cannot be reached (exit 4)
    └── SafetyStop                  a risk control stopped the bot (exit 5)

Every message says what happened, why, and what to do.
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_INTERNAL: Final = 1
EXIT_CONFIG: Final = 2
EXIT_AUTH: Final = 3
EXIT_UNAVAILABLE: Final = 4
EXIT_SAFETY: Final = 5


class PmmError(Exception):
    """Base of every error pmm raises on purpose."""

    exit_code: int = EXIT_INTERNAL


class ConfigError(PmmError):
    """The config or the command line is invalid. `problems` holds one message per problem."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems or [message]


class AuthError(PmmError):
    exit_code = EXIT_AUTH


class ExchangeUnavailable(PmmError):
    exit_code = EXIT_UNAVAILABLE


class RateLimited(ExchangeUnavailable):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrderOutcomeUnknown(PmmError):
    """The request may or may not have reached the venue; reconciliation settles it."""


class OrderError(PmmError):
    """The venue refused the order. `code` is the venue's own error code, if any."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class InsufficientMargin(OrderError):
    pass


class BelowMinSize(OrderError):
    pass


class BelowMinNotional(OrderError):
    pass


class InvalidPrice(OrderError):
    pass


class PostOnlyWouldCross(OrderError):
    pass


class ReduceOnlyRejected(OrderError):
    pass


class UnknownOrder(OrderError):
    pass


class VenueSetupError(PmmError):
    exit_code = EXIT_UNAVAILABLE


class StoreUnavailable(PmmError):
    """The store's database server did not answer (a store that cannot work at all is a ConfigError)."""

    exit_code = EXIT_UNAVAILABLE


class SafetyStop(PmmError):
    exit_code = EXIT_SAFETY
