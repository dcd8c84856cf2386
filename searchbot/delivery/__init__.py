"""Outbox rows to Telegram within its limits: the dispatcher, its throttle, and the replies of
handlers that go through the outbox.

Imports telling, cases and everything below them; it reaches Telegram through the transport the
composition root gives it."""
