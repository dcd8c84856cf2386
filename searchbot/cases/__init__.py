"""The use cases: report, sighting, found child, close, escalate, exits, register, checks,
desk, reminders, places, coverage. Each changes the model and records events, which the
composition root has published (``Services.publish``); none imports the teller nor Telegram.

Imports domain, settings, models and words."""
