"""OpenID Connect sign-in: flows under way, and the provider a session came through.

Revision ID: 0022_oidc_sign_in
Revises: 0004
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_oidc_sign_in"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_flow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_path", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_hash"),
    )
    with op.batch_alter_table("person_session") as table:
        table.add_column(sa.Column("provider", sa.String(40), nullable=True))
        table.add_column(sa.Column("provider_role", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person_session") as table:
        table.drop_column("provider_role")
        table.drop_column("provider")
    op.drop_table("sign_in_flow")
