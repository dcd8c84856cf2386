"""Running the bot: logs, metrics and health, retention, statistics, exports.

Imports cases and everything below them."""
