"""Pure domain: model, events, order book, clock. Imports nothing from pmm but `errors`."""
