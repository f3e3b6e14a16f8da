"""People sign in: one-time sign-in links and sessions (hashes only).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _text(64), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("next_path", _text(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_sign_in_link_email", "sign_in_link", ["email"])
    op.create_table(
        "person_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _text(64), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("csrf_token", _text(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_person_session_email", "person_session", ["email"])


def downgrade() -> None:
    op.drop_index("ix_person_session_email", table_name="person_session")
    op.drop_table("person_session")
    op.drop_index("ix_sign_in_link_email", table_name="sign_in_link")
    op.drop_table("sign_in_link")
