"""The words and buttons: the gettext catalogs (one per language), the typed callback data of
every button, and how a case looks on a card. Use cases phrase their answer to the person who
acted with these; who else hears what lives in ``searchbot.telling``.

Imports domain, settings and models."""
