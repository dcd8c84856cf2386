"""The Telegram adapter: the Bot API transport, its HTTP client, update ordering, the webhook
server, the "/" menus and the retraction placeholder.

Imports delivery and everything below it."""
