"""Children found alone, playbooks by role, exits and the volunteers' cells

A found-child report is matched to open cases; landmarks get a kind (exit, entrance, metro,
parking, water) so guards can be given exits to watch; a station's own playbook wording; the
blind-spot cells given to volunteer groups; the ring indexes also cover the group's role, which
now chooses each alert's job.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_RING = ["status", "lat", "lon", "id", "chat_id", "language"]
NEW_RING = [*OLD_RING, "role"]


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "found_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("reporter_user_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("reporter_name", _text(128), nullable=True),
        sa.Column("group_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("language", _text(8), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("sex", _text(16), nullable=True),
        sa.Column("description", _text(2000), nullable=True),
        sa.Column("photo_file_id", _text(256), nullable=True),
        sa.Column("place_text", _text(512), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("with_whom", _text(256), nullable=True),
        sa.Column("contact", _text(64), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("matched_case_id", sa.Integer(), nullable=True),
        sa.Column("matched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("matched_by", sa.BigInteger(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_found_reports_status", "found_reports", ["status"])
    op.create_index(op.f("ix_found_reports_matched_case_id"), "found_reports", ["matched_case_id"])
    op.create_table(
        "exit_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("landmark_id", sa.Integer(), nullable=False),
        sa.Column("group_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "landmark_id", name="uq_exit_watch"),
    )
    op.create_index(op.f("ix_exit_watches_case_id"), "exit_watches", ["case_id"])
    op.create_table(
        "playbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", _text(16), nullable=False),
        sa.Column("language", _text(8), nullable=False),
        sa.Column("text", _text(600), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("role", "language", name="uq_playbook_role_language"),
    )
    op.create_table(
        "volunteer_cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("cell", _text(16), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_volunteer_cells_case", "volunteer_cells", ["case_id", "first"])
    with op.batch_alter_table("landmarks") as batch_op:
        batch_op.add_column(sa.Column("kind", _text(16), nullable=True))
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(
            sa.Column("exits_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("groups") as batch_op:
        batch_op.drop_index("ix_groups_ring_fine")
        batch_op.drop_index("ix_groups_ring_coarse")
        batch_op.create_index("ix_groups_ring_fine", ["cell_fine", *NEW_RING])
        batch_op.create_index("ix_groups_ring_coarse", ["cell_coarse", *NEW_RING])


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch_op:
        batch_op.drop_index("ix_groups_ring_coarse")
        batch_op.drop_index("ix_groups_ring_fine")
        batch_op.create_index("ix_groups_ring_fine", ["cell_fine", *OLD_RING])
        batch_op.create_index("ix_groups_ring_coarse", ["cell_coarse", *OLD_RING])
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("exits_due_at")
    with op.batch_alter_table("landmarks") as batch_op:
        batch_op.drop_column("kind")
    op.drop_index("ix_volunteer_cells_case", table_name="volunteer_cells")
    op.drop_table("volunteer_cells")
    op.drop_table("playbooks")
    op.drop_index(op.f("ix_exit_watches_case_id"), table_name="exit_watches")
    op.drop_table("exit_watches")
    op.drop_index(op.f("ix_found_reports_matched_case_id"), table_name="found_reports")
    op.drop_index("ix_found_reports_status", table_name="found_reports")
    op.drop_table("found_reports")
