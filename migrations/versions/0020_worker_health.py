"""Worker health and idempotent actions: the workers' heartbeats, the outages the business unit
was told of, and the receipts of actions sent with an Idempotency-Key.

Revision ID: 0020_worker_health
Revises: 0023_dpia_records
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020_worker_health"
down_revision: str | None = "0023_dpia_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("worker_id", _text(200), nullable=False),
        sa.Column("task_queue", _text(200), nullable=False),
        _when("started_at"),
        _when("last_seen_at"),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    op.create_index("ix_worker_heartbeat_task_queue", "worker_heartbeat", ["task_queue"])
    op.create_table(
        "worker_outage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_queue", _text(200), nullable=False),
        _when("last_seen_at"),
        _when("alerted_at", nullable=True),
        _when("recovered_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_queue", "last_seen_at"),
    )
    op.create_table(
        "action_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency", _text(200), nullable=False),
        sa.Column("idempotency_key", _text(200), nullable=False),
        sa.Column("escalation_id", _text(40), nullable=False),
        sa.Column("action", _text(40), nullable=False),
        sa.Column("request_hash", _text(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency", "idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("action_receipt")
    op.drop_table("worker_outage")
    op.drop_index("ix_worker_heartbeat_task_queue", table_name="worker_heartbeat")
    op.drop_table("worker_heartbeat")
