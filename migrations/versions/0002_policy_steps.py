"""The policy's own steps: acknowledgement, agreed extensions and the raiser's dispute window.

The read model gains the current stage's acknowledgement and extensions and the end of the
dispute window; audit actions get room for "acknowledgement overdue".

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledge_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=200))
        )
        batch_op.add_column(
            sa.Column("extensions_used", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("dispute_until", sa.DateTime(timezone=True), nullable=True))
    # Widening a varchar rewrites nothing on PostgreSQL, so the append-only triggers are not
    # involved; SQLite does not enforce the length.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_event",
            "action",
            type_=sqlmodel.sql.sqltypes.AutoString(length=40),
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_event",
            "action",
            type_=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=40),
            existing_nullable=False,
        )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_column("dispute_until")
        batch_op.drop_column("extensions_used")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("acknowledge_by")
