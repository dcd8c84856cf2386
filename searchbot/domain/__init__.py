"""The rules, with no I/O: the grid, phones and numbers, redaction, the clock, the messages
the bot can say (independent of Telegram), and the events (what happened, ids only).

Imports nothing of searchbot but itself."""
