"""Stations: one deployment for a district, each station with its area, officers' group,
administrators and officers; cases and groups belong to one, and a case's rings may reach others

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A case or group whose ``station_id`` is NULL belongs to the default station, the one made of
the settings (``SEARCHBOT_OFFICER_CHAT_ID``, ``SEARCHBOT_SERVICE_AREA``, the administrators):
a database of the previous release upgrades with everything in it and serves as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("officer_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("admin_ids", sa.JSON(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "station_officers",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.PrimaryKeyConstraint("station_id", "user_id"),
    )
    op.create_index(
        op.f("ix_station_officers_user_id"), "station_officers", ["user_id"], unique=False
    )
    op.create_table(
        "case_stations",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("notified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("joined_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("joined_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.PrimaryKeyConstraint("case_id", "station_id"),
    )
    op.create_index(
        op.f("ix_case_stations_station_id"), "case_stations", ["station_id"], unique=False
    )
    for table in ("cases", "groups"):
        op.add_column(table, sa.Column("station_id", sa.Integer(), nullable=True))
        op.create_index(op.f(f"ix_{table}_station_id"), table, ["station_id"], unique=False)


def downgrade() -> None:
    for table in ("groups", "cases"):
        op.drop_index(op.f(f"ix_{table}_station_id"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("station_id")
    op.drop_index(op.f("ix_case_stations_station_id"), table_name="case_stations")
    op.drop_table("case_stations")
    op.drop_index(op.f("ix_station_officers_user_id"), table_name="station_officers")
    op.drop_table("station_officers")
    op.drop_table("stations")
