"""Who hears what: every message the bot sends because something happened (``notify``), the
officers' folded digests, and the after-action report.

Imports cases and everything below them (never delivery, Telegram, the web, or handlers)."""
