"""The daily work: child references as searched for, and each person's last view of an
escalation.

Revision ID: 0024_daily_work
Revises: 0023b_retention
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.text import reference_key

revision: str = "0024_daily_work"
down_revision: str | None = "0023b_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("child_reference_key", sa.String(length=100), nullable=True))
        batch.create_index("ix_escalation_child_reference_key", ["child_reference_key"])
    connection = op.get_bind()
    escalation = sa.table(
        "escalation",
        sa.column("id", sa.String),
        sa.column("child_reference", sa.String),
        sa.column("child_reference_key", sa.String),
    )
    rows = connection.execute(
        sa.select(escalation.c.id, escalation.c.child_reference).where(
            escalation.c.child_reference.is_not(None)
        )
    ).all()
    for escalation_id, reference in rows:
        connection.execute(
            escalation.update()
            .where(escalation.c.id == escalation_id)
            .values(child_reference_key=reference_key(reference))
        )
    op.create_table(
        "escalation_view",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("escalation_id", sa.String(length=40), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("email", "escalation_id"),
    )
    op.create_index("ix_escalation_view_escalation_id", "escalation_view", ["escalation_id"])


def downgrade() -> None:
    op.drop_index("ix_escalation_view_escalation_id", table_name="escalation_view")
    op.drop_table("escalation_view")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_index("ix_escalation_child_reference_key")
        batch.drop_column("child_reference_key")
