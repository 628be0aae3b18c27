"""Recording a venue's public feed (`pmm record`) and replaying recordings through the bot on a
virtual clock (`pmm backtest`)."""
