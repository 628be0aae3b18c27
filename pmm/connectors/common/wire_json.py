"""JSON as the venue servers write it: compact, and strict about numbers.

Venues send prices, sizes and money as strings formatted on the market's grid (`numbers.py`); a
`Decimal` that reaches the encoder unformatted is a bug in the server, not something to guess a
float for, so `dumps` refuses it.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(data: Any) -> str:
    """Compact JSON; a Decimal that slipped through unformatted is a bug, not a float."""

    def refuse(obj: Any) -> Any:
        raise TypeError(f"{type(obj).__name__} is not JSON-ready: format it as a string first")

    return json.dumps(data, separators=(",", ":"), default=refuse)
