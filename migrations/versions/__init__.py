"""The revisions, one file each. Alembic reads them as files; this marks them as package data
that a wheel must carry."""
