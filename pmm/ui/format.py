"""Small formatting helpers shared by the views."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def fmt_dec(value: str | Decimal | None, places: int | None = None) -> str:
    """Decimals print without exponent and without trailing noise; None prints as '-'."""
    if value is None or value == "":
        return "-"
    d = Decimal(value)
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places))
    text = format(d, "f")
    if "." in text and places is None:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {text}" if days else text


def fmt_ts(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def signed_style(value: str | Decimal | None) -> str:
    if value is None:
        return ""
    d = Decimal(value)
    return "green" if d > 0 else "red" if d < 0 else ""
