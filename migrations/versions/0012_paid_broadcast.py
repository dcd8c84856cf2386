"""Paid broadcast: which outbox rows go with allow_paid_broadcast, and what each case paid

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN with a default on both databases: no table copy for the outbox
    op.add_column(
        "outbox", sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "cases", sa.Column("paid_messages", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("paid_messages")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("paid")
