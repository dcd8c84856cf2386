"""A found child's messages point at the report, so that forgetting it deletes them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Before this, the officers' card of a found child and its pin were rows about no case, which
# no purge reached (the finder's name, id and phone, the child's description and photo id).
# Those already settled cannot be told apart by report: their words go now.
SETTLED_FOUND_ROWS = (
    "UPDATE outbox SET payload = '{}' WHERE case_id IS NULL AND kind IN ('found', 'pin') "
    "AND status IN ('sent', 'dead', 'cancelled')"
)


def upgrade() -> None:
    op.add_column("outbox", sa.Column("found_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_outbox_found_id"), "outbox", ["found_id"], unique=False)
    op.execute(SETTLED_FOUND_ROWS)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_found_id"), table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("found_id")
