"""Retention: legal holds and erasure on the escalation record.

Revision ID: 0023b_retention
Revises: 0021_directory
Create Date: 2026-12-07 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023b_retention"
down_revision: str | None = "0021_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation") as table:
        table.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(
            sa.Column("held_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        table.add_column(sa.Column("hold_reason", sa.Text(), nullable=True))
        table.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalation") as table:
        table.drop_column("erased_at")
        table.drop_column("hold_reason")
        table.drop_column("held_by")
        table.drop_column("held_at")
