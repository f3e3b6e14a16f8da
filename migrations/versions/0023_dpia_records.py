"""Records a DPIA can sign off: each escalation's case key, corrections, who viewed a record.

Revision ID: 0023_dpia_records
Revises: 0022_oidc_sign_in
Create Date: 2026-12-07 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023_dpia_records"
down_revision: str | None = "0022_oidc_sign_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# On PostgreSQL corrections and access events are append-only, like the audit trail (0001).
APPEND_ONLY = """
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""
APPEND_ONLY_TABLES = ("case_correction", "access_event")


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "case_key",
        sa.Column("escalation_id", _text(40), nullable=False),
        sa.Column("secret", _text(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("escalation_id"),
    )
    op.create_table(
        "case_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", _text(40), nullable=False),
        sa.Column("event_key", _text(120), nullable=False),
        sa.Column("field", _text(40), nullable=False),
        sa.Column("previous_value", sa.JSON(), nullable=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by", _text(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    op.create_index("ix_case_correction_escalation_id", "case_correction", ["escalation_id"])
    op.create_table(
        "access_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", _text(40), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", _text(200), nullable=False),
        sa.Column("purpose", _text(40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_event_escalation_id", "access_event", ["escalation_id"])
    op.create_index("ix_access_event_at", "access_event", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(APPEND_ONLY.format(table=table))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    op.drop_table("access_event")
    op.drop_table("case_correction")
    op.drop_table("case_key")
