"""Alembic migrations, shipped inside the package as searchbot.migrations so that an installed
wheel can migrate its database (see searchbot.models.db.MIGRATIONS)."""
