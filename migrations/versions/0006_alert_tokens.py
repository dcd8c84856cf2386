"""Unguessable deep-link tokens per alert; when the family got each sighting in full

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(
            sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_unique_constraint("uq_alerts_token", ["token"])
    with op.batch_alter_table("sightings") as batch_op:
        batch_op.add_column(
            sa.Column("shared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # Sightings made before this revision already went to the family in full.
    op.execute("UPDATE sightings SET shared_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("sightings") as batch_op:
        batch_op.drop_column("shared_at")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_constraint("uq_alerts_token", type_="unique")
        batch_op.drop_column("token")
