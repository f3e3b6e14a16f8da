"""Initial schema: escalations, the append-only audit trail, deliveries, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:36:26.507029
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# On PostgreSQL the audit trail is append-only for everyone, the application included.
APPEND_ONLY = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
"""


def upgrade() -> None:

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("escalation_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_event_escalation_id"), ["escalation_id"], unique=False
        )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("escalation_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notification_key", "recipient"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_escalation_id"), ["escalation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_delivery_notification_key"), ["notification_key"], unique=False
        )

    op.create_table(
        "escalation",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("policy", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("raising_agency", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("receiving_agency", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("raised_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("immediate_risk", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("child_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("child_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("child_date_of_birth", sa.Date(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("decision_disputed", sa.Text(), nullable=True),
        sa.Column("desired_outcome", sa.Text(), nullable=True),
        sa.Column("risk_reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("stage_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("stage_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("stage_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("agreed_actions", sa.JSON(), nullable=False),
        sa.Column("closing_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raising_agency", "idempotency_key"),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_overdue"), ["overdue"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_escalation_raising_agency"), ["raising_agency"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_escalation_receiving_agency"), ["receiving_agency"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_escalation_stage"), ["stage"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_escalation_stage_deadline"), ["stage_deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_escalation_status"), ["status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")

    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_status"))
        batch_op.drop_index(batch_op.f("ix_escalation_stage_deadline"))
        batch_op.drop_index(batch_op.f("ix_escalation_stage"))
        batch_op.drop_index(batch_op.f("ix_escalation_receiving_agency"))
        batch_op.drop_index(batch_op.f("ix_escalation_raising_agency"))
        batch_op.drop_index(batch_op.f("ix_escalation_overdue"))

    op.drop_table("escalation")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_notification_key"))
        batch_op.drop_index(batch_op.f("ix_delivery_escalation_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_escalation_id"))

    op.drop_table("audit_event")
    op.drop_table("api_key")
