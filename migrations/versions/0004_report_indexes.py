"""Indexes for the oversight report: escalations by when raised and closed, and the audit
events it counts (time limits passed) by action and escalation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_escalation_created_at", "escalation", ["created_at"])
    op.create_index("ix_escalation_closed_at", "escalation", ["closed_at"])
    op.create_index(
        "ix_audit_event_action_escalation_id", "audit_event", ["action", "escalation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_action_escalation_id", table_name="audit_event")
    op.drop_index("ix_escalation_closed_at", table_name="escalation")
    op.drop_index("ix_escalation_created_at", table_name="escalation")
