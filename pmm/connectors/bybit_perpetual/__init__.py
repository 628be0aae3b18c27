"""Bybit v5 linear USDT perpetuals: the live connector (client side) and the loopback venue server."""
