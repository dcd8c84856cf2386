"""The command room: a live map of each search for officers (a Telegram Mini App) and the
station's screen, its JSON API and event stream, and the ``/map`` picture."""
