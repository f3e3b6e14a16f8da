"""The language a request for access was made in: the new person's, once approved.

Revision ID: 0025_access_request_language
Revises: 0024_daily_work
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_access_request_language"
down_revision: str | None = "0024_daily_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Requests made before: not known (their answer comes in both languages in Wales).
    with op.batch_alter_table("access_request") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_request") as batch:
        batch.drop_column("language")
