"""A receipt keeps the workflow's refusal (its code and values), so a repeat says the same reason.

Revision ID: 0026_receipt_refusal
Revises: 0025_access_request_language
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_receipt_refusal"
down_revision: str | None = "0025_access_request_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Receipts answered before: none (a repeat's page shows the API's English).
    with op.batch_alter_table("action_receipt") as batch:
        batch.add_column(sa.Column("refusal", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_receipt") as batch:
        batch.drop_column("refusal")
