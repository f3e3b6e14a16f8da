"""The directory in the database: agencies, people (with their language), systems told
(contact routes), the directory's own hash-chained record of changes, and requests for access.

Revision ID: 0021_directory
Revises: 0020_worker_health
Create Date: 2026-12-07 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021_directory"
down_revision: str | None = "0020_worker_health"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "directory_agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("name_key", _text(200), nullable=False),
        sa.Column("kind", _text(20), nullable=False),
        sa.Column("email_domains", sa.JSON(), nullable=False),
        sa.Column("added_by", _text(200), nullable=False),
        _when("added_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_index("ix_directory_agency_kind", "directory_agency", ["kind"])
    op.create_table(
        "directory_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("email_key", _text(320), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", _text(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", _text(8), nullable=False, server_default="en"),
        sa.Column("added_by", _text(200), nullable=False),
        _when("added_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["agency_id"], ["directory_agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_key"),
    )
    op.create_index("ix_directory_person_name", "directory_person", ["name"])
    op.create_index(
        "ix_directory_person_agency_role", "directory_person", ["agency_id", "role", "active"]
    )
    op.create_table(
        "contact_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("role", _text(20), nullable=False),
        sa.Column("webhook", _text(2000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_by", _text(200), nullable=False),
        _when("added_at"),
        sa.ForeignKeyConstraint(["agency_id"], ["directory_agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "webhook"),
    )
    op.create_index("ix_contact_route_agency_id", "contact_route", ["agency_id"])
    op.create_table(
        "directory_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", _text(40), nullable=False),
        sa.Column("action", _text(40), nullable=False),
        _when("at"),
        sa.Column("actor", _text(200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("prev_hash", _text(64), nullable=False),
        sa.Column("hash", _text(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_directory_event_subject", "directory_event", ["subject"])
    op.create_index("ix_directory_event_at", "directory_event", ["at"])
    op.create_table(
        "access_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("email", _text(320), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", _text(20), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        _when("requested_at"),
        sa.Column("decided_by", _text(200), nullable=True),
        _when("decided_at", nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["directory_agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_request_email", "access_request", ["email"])
    op.create_index("ix_access_request_agency_id", "access_request", ["agency_id"])
    op.create_index("ix_access_request_status", "access_request", ["status"])


def downgrade() -> None:
    op.drop_index("ix_access_request_status", table_name="access_request")
    op.drop_index("ix_access_request_agency_id", table_name="access_request")
    op.drop_index("ix_access_request_email", table_name="access_request")
    op.drop_table("access_request")
    op.drop_index("ix_directory_event_at", table_name="directory_event")
    op.drop_index("ix_directory_event_subject", table_name="directory_event")
    op.drop_table("directory_event")
    op.drop_index("ix_contact_route_agency_id", table_name="contact_route")
    op.drop_table("contact_route")
    op.drop_index("ix_directory_person_agency_role", table_name="directory_person")
    op.drop_index("ix_directory_person_name", table_name="directory_person")
    op.drop_table("directory_person")
    op.drop_index("ix_directory_agency_kind", table_name="directory_agency")
    op.drop_table("directory_agency")
