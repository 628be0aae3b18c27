"""JSON on the venue wire, both ways, strict about numbers.

Venues send prices, sizes and money as strings formatted on the market's grid (`numbers.py`). A
loopback venue server writes with `dumps`: compact, and a `Decimal` that reaches the encoder
unformatted is a bug in the server, not something to guess a float for, so it is refused. Clients
read with `decode_json`: a number with a fraction becomes a `Decimal`, never a float.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(data: Any) -> str:
    """Compact JSON; a Decimal that slipped through unformatted is a bug, not a float."""

    def refuse(obj: Any) -> Any:
        raise TypeError(f"{type(obj).__name__} is not JSON-ready: format it as a string first")

    return json.dumps(data, separators=(",", ":"), default=refuse)


def decode_json(text: str) -> Any:
    """JSON with non-integer numbers as Decimal (venues send money as strings anyway)."""
    return json.loads(text, parse_float=Decimal)
