"""URLs as pmm shows and stores them: a URL often carries a token (a custom price API's
`?key=...`, a path segment, `user:password@`), so only its scheme, host and port are kept whole.

    mask_url("https://u:pw@prices.example.com:8443/v1/btc?token=abc")
        == "https://***@prices.example.com:8443/***"

A URL with nothing past its host and port (`http://127.0.0.1:8080`) is shown as it is.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

MASK: Final = "***"
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def mask_url(url: str) -> str:
    """`url` with its user part, path, query and fragment replaced by `***`."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:  # an unreadable host or port: show nothing past the scheme
        return f"{url.split('://', 1)[0]}://{MASK}" if "://" in url else MASK
    if not parts.scheme or host is None:
        return MASK
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc}"
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return f"{parts.scheme}://{netloc}" + (f"/{MASK}" if hidden else parts.path)


def mask_urls(text: str) -> str:
    """Every URL in `text` (a config file, a message) masked by `mask_url`."""
    return _URL.sub(lambda m: mask_url(m.group(0)), text)
