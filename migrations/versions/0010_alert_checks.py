"""Each member's "Checked — not here", counted once per person

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The first member's check marks the alert (the group's figure) in the same statement as the
# press itself: a press stays one statement, and the two can never disagree.
MARK = (
    "UPDATE alerts SET checked_at = NEW.first_at, checked_by = NEW.user_id "
    "WHERE id = NEW.alert_id AND checked_at IS NULL"
)


def upgrade() -> None:
    op.create_table(
        "alert_checks",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("presses", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.PrimaryKeyConstraint("alert_id", "user_id"),
    )
    op.create_index(op.f("ix_alert_checks_case_id"), "alert_checks", ["case_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION alert_first_check() RETURNS trigger AS $$ "
            f"BEGIN {MARK}; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER alert_checks_first AFTER INSERT ON alert_checks "
            "FOR EACH ROW EXECUTE FUNCTION alert_first_check()"
        )
    else:
        op.execute(
            "CREATE TRIGGER alert_checks_first AFTER INSERT ON alert_checks "
            f"FOR EACH ROW BEGIN {MARK}; END"
        )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS alert_checks_first"
        + (" ON alert_checks" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS alert_first_check()")
    op.drop_index(op.f("ix_alert_checks_case_id"), table_name="alert_checks")
    op.drop_table("alert_checks")
