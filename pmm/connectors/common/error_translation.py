"""A venue's failed replies -> pmm.errors, the same way for every venue (see `pmm/errors.py`).

Each venue's `errors.py` keeps its own facts: the table from its numeric error codes to pmm error
classes (keyed on the number, never the message), which codes mean "the venue does not know whether
it executed the request", the advice shown with each class, and how it says "this IP is blocked".
`ErrorTranslator` turns one failed reply into one `PmmError` from those facts:

1. the venue's IP-block status: `ExchangeUnavailable` with the venue's own explanation;
2. an unknown-outcome code: `OrderOutcomeUnknown` on order calls (the engine keeps the order in
   flight until reconciliation), the table's class elsewhere;
3. a code in the table: that class;
4. by HTTP status: 429 `RateLimited`, 401 `AuthError`, 408 and 5xx like an unknown outcome, the
   venue's other statuses `ExchangeUnavailable` (with a hint);
5. anything else: `OrderError` on order calls (drop the order), else `ExchangeUnavailable`.

Messages say what was refused, the venue's message, the HTTP status and the code, then the advice
for the class (none when the venue's advice for it is empty). The message text never decides the
class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pmm.errors import (
    AuthError,
    ExchangeUnavailable,
    OrderError,
    OrderOutcomeUnknown,
    PmmError,
    RateLimited,
)

HTTP_UNAUTHORIZED = 401
HTTP_REQUEST_TIMEOUT = 408
HTTP_TOO_MANY_REQUESTS = 429

# (what, retry_after) -> the message of the ExchangeUnavailable raised for the venue's IP block.
IpBlockMessage = Callable[[str, float | None], str]
# A venue's error code: a number on most venues, a word on some ("ORDER_POC_IMMEDIATE").
VenueCode = int | str


@dataclass(frozen=True)
class ErrorTranslator:
    venue: str  # the venue's display name: starts every message ("<venue> refused ...")
    code_name: str  # how the venue calls its error number in a message: "code", "retCode"
    table: Mapping[Any, type[PmmError]]  # keyed by VenueCode (Any: a Mapping is invariant in its key)
    unknown_outcome_codes: frozenset[VenueCode]
    advice: Mapping[type[PmmError], str]  # looked up along the class's MRO; "" means no advice
    ip_block_status: int
    ip_block_message: IpBlockMessage
    # Other HTTP statuses that mean the venue is not serving us -> a hint appended to the message.
    unavailable_statuses: Mapping[int, str] = field(default_factory=dict)

    def advice_for(self, cls: type[PmmError]) -> str:
        for klass in cls.__mro__:
            if klass in self.advice:
                return self.advice[klass]  # type: ignore[index]
        return ""

    def build(self, cls: type[PmmError], message: str, code: VenueCode | None, retry_after: float | None) -> PmmError:
        """An instance of `cls`: order errors carry the code, rate limits the wait, others advice."""
        if issubclass(cls, OrderError):
            return cls(message, None if code is None else str(code))  # type: ignore[call-arg]
        text = f"{message} {self.advice_for(cls)}".strip()
        if issubclass(cls, RateLimited):
            return cls(text, retry_after)  # type: ignore[call-arg]
        return cls(text)

    def translate(self, *, what: str, status: int, code: VenueCode | None, msg: str, order_call: bool,
                  retry_after: float | None = None) -> PmmError:
        """The pmm error for one failed reply (see the module docstring for the order of rules).

        `what` names the request for the message ("place order pmm-1-2"), `status` is the HTTP
        status, `code` / `msg` the venue's error number and text (None / "" when there was none).
        """
        where = f"{self.venue} refused {what}: {msg or 'no message'} (HTTP {status}"
        where += f", {self.code_name} {code})." if code is not None else ")."
        if status == self.ip_block_status:
            return ExchangeUnavailable(self.ip_block_message(what, retry_after))
        if code is not None and code in self.unknown_outcome_codes:
            if order_call:
                return OrderOutcomeUnknown(f"{where} The venue does not know whether it executed it. "
                                           f"{self.advice_for(OrderOutcomeUnknown)}")
            return self.build(self.table[code], where, code, retry_after)
        if code is not None and code in self.table:
            return self.build(self.table[code], where, code, retry_after)
        if status == HTTP_TOO_MANY_REQUESTS:
            return self.build(RateLimited, where, code, retry_after)
        if status == HTTP_UNAUTHORIZED:
            return self.build(AuthError, where, code, None)
        if status == HTTP_REQUEST_TIMEOUT or status >= 500:
            if order_call:
                return OrderOutcomeUnknown(f"{where} {self.advice_for(OrderOutcomeUnknown)}")
            return self.build(ExchangeUnavailable, where, code, None)
        if status in self.unavailable_statuses:
            return self.build(ExchangeUnavailable, where + self.unavailable_statuses[status], code, None)
        # An unlisted code: the venue refused this request; for an order, drop the order.
        if order_call:
            return OrderError(where, None if code is None else str(code))
        return self.build(ExchangeUnavailable, where, code, None)
