"""Alembic migrations; file names are dated so their order reads at a glance."""
