"""pmm: an event-driven perpetual-futures market-making bot."""

__version__ = "0.1.0"
