"""The tables: escalations (case details and the read model), the audit trail, deliveries, keys,
case keys, corrections and who viewed a record.

All times are stored in UTC. Audit events are append-only and hash-chained per escalation.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime on every database (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# An escalation's status while only the raise is written: its workflow has not recorded it yet.
# No person sees a pending row (casework/visibility.py); the reconciler finishes or removes it.
PENDING = "pending"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Escalation(SQLModel, table=True):
    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("raising_agency", "idempotency_key"),)

    id: str = Field(primary_key=True, max_length=40)
    policy: str = Field(max_length=100)
    raising_agency: str = Field(max_length=200, index=True)
    receiving_agency: str = Field(max_length=200, index=True)
    raised_by: str = Field(max_length=200)
    immediate_risk: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))

    # Case details, written by the API at raise; special-category data, never sent to Temporal.
    child_reference: str | None = Field(default=None, max_length=100)
    # The reference as searched for: no spaces, case-folded (casework.searching.reference_key);
    # erased with the reference.
    child_reference_key: str | None = Field(default=None, max_length=100, index=True)
    child_name: str | None = Field(default=None, max_length=200)
    child_date_of_birth: date | None = None
    summary: str | None = Field(default=None, sa_column=Column(Text))
    category: str | None = Field(default=None, max_length=100)
    decision_disputed: str | None = Field(default=None, sa_column=Column(Text))
    desired_outcome: str | None = Field(default=None, sa_column=Column(Text))
    risk_reason: str | None = Field(default=None, sa_column=Column(Text))
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)

    # Read model, kept current by the workflow's audit activity.
    status: str = Field(default="open", max_length=20, index=True)
    stage: int = Field(default=1, index=True)
    stage_name: str = Field(default="", max_length=120)
    stage_role: str = Field(default="manager", max_length=20)
    stage_deadline: datetime | None = _when(nullable=True, index=True)
    overdue: bool = Field(default=False, index=True)
    closed_at: datetime | None = _when(nullable=True, index=True)
    closed_by: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    agreed_actions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closing_reason: str | None = Field(default=None, sa_column=Column(Text))
    # The policy's own steps at the current stage, and the raiser's dispute window.
    acknowledge_by: datetime | None = _when(nullable=True)
    acknowledged_at: datetime | None = _when(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    extensions_used: int = 0
    dispute_until: datetime | None = _when(nullable=True)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Retention (worker/eraser.py): a legal hold stops erasure while it stands; once erased, the
    # case details are gone from the row and its case key destroyed.
    held_at: datetime | None = _when(nullable=True)
    held_by: str | None = Field(default=None, max_length=200)
    hold_reason: str | None = Field(default=None, sa_column=Column(Text))
    erased_at: datetime | None = _when(nullable=True)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # The oversight report counts events of some actions for a period's escalations.
    __table_args__ = (Index("ix_audit_event_action_escalation_id", "action", "escalation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(max_length=120, unique=True)
    escalation_id: str = Field(max_length=40, index=True)
    action: str = Field(max_length=40)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=200)
    stage: int
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Delivery(SQLModel, table=True):
    """One notification to one recipient, with how its delivery went."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("notification_key", "recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_key: str = Field(max_length=120, index=True)
    escalation_id: str = Field(max_length=40, index=True)
    recipient: str = Field(max_length=300)
    channel: str = Field(max_length=20)  # email | webhook | log
    status: str = Field(max_length=20)  # sent | logged | retrying | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class EscalationView(SQLModel, table=True):
    """When a person last looked at an escalation's page: what changed since is marked."""

    __tablename__ = "escalation_view"
    __table_args__ = (UniqueConstraint("email", "escalation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    escalation_id: str = Field(max_length=40, index=True)
    viewed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    agency: str = Field(max_length=200)
    role: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = _when(nullable=True)


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link mailed to a person: only its hash is kept; spent once."""

    __tablename__ = "sign_in_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=320, index=True)
    # Where the person was going (a path on this service only).
    next_path: str = Field(default="/", max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = _when(nullable=True)


class SignInFlow(SQLModel, table=True):
    """An OpenID Connect sign-in under way: its `state`'s hash, nonce and PKCE verifier; the
    browser holds the state in a cookie. Spent once, by the callback."""

    __tablename__ = "sign_in_flow"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    provider: str = Field(max_length=40)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(default="/", max_length=500)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = _when(nullable=True)


class PersonSession(SQLModel, table=True):
    """A signed-in person's session: the cookie holds a token, the table only its hash."""

    __tablename__ = "person_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=320, index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = _when(nullable=True)
    # Signed in through this OpenID Connect provider (None: the mailed link); sign-out ends the
    # provider's session too. The role its groups gave, for a person the directory gives none.
    provider: str | None = Field(default=None, max_length=40)
    provider_role: str | None = Field(default=None, max_length=20)
    # The raise being written, question by question, until it is sent.
    draft: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# The directory: the partnership's agencies, its people and the systems told of escalations.
# Agencies are never renamed (escalations keep the name they were raised under).


class DirectoryAgency(SQLModel, table=True):
    __tablename__ = "directory_agency"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # The name as compared (NFKC, case-folded, spaces collapsed): one agency per spelling.
    name_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20, index=True)
    email_domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DirectoryPerson(SQLModel, table=True):
    __tablename__ = "directory_person"
    # Who is told at each stage: an agency's active people of one role.
    __table_args__ = (Index("ix_directory_person_agency_role", "agency_id", "role", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    email: str = Field(max_length=320)
    # The address as compared (case-folded): one person per mailbox.
    email_key: str = Field(max_length=320, unique=True)
    agency_id: int = Field(foreign_key="directory_agency.id")
    role: str = Field(max_length=20)
    active: bool = True
    # The language mail and pages use for this person: "en" or "cy"; "both" (a shared
    # mailbox) gets mails in both languages and pages in the browser's.
    language: str = Field(default="en", max_length=8)
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ContactRoute(SQLModel, table=True):
    """A system told of an agency's escalations at one role (a webhook), not a person."""

    __tablename__ = "contact_route"
    __table_args__ = (UniqueConstraint("agency_id", "webhook"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="directory_agency.id", index=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    webhook: str = Field(max_length=2000)
    active: bool = True
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DirectoryEvent(SQLModel, table=True):
    """One change to the directory, before and after: hash-chained per subject
    (`agency:<id>`, `person:<id>`, `route:<id>`), like an escalation's trail."""

    __tablename__ = "directory_event"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=40, index=True)
    action: str = Field(max_length=40)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=200)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AccessRequest(SQLModel, table=True):
    """A professional not in the directory asking for access; their agency's managers or the
    business unit approve (the person is added) or decline it."""

    __tablename__ = "access_request"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, index=True)
    agency_id: int = Field(foreign_key="directory_agency.id", index=True)
    role: str = Field(max_length=20)
    status: str = Field(default="pending", max_length=20, index=True)  # approved | declined
    requested_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = _when(nullable=True)
    # The language of the page it was asked from: the new person's, and their answer's.
    language: str | None = Field(default=None, max_length=8)


class WorkerHeartbeat(SQLModel, table=True):
    """A running worker, refreshed every WORKER_HEARTBEAT_SECONDS: how /healthz sees a live one."""

    __tablename__ = "worker_heartbeat"

    worker_id: str = Field(primary_key=True, max_length=200)
    task_queue: str = Field(max_length=200, index=True)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WorkerOutage(SQLModel, table=True):
    """A time no worker was seen, keyed by when the last one was: the API processes agree
    through this row who mails the business unit, once when it is alerted and once at recovery."""

    __tablename__ = "worker_outage"
    __table_args__ = (UniqueConstraint("task_queue", "last_seen_at"),)

    id: int | None = Field(default=None, primary_key=True)
    task_queue: str = Field(max_length=200)
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    alerted_at: datetime | None = _when(nullable=True)
    recovered_at: datetime | None = _when(nullable=True)


class ActionReceipt(SQLModel, table=True):
    """An action sent with an Idempotency-Key (or a page's form id): what it was and, once known,
    its answer, so a repeat gets that answer and never a second effect."""

    __tablename__ = "action_receipt"
    __table_args__ = (UniqueConstraint("agency", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    agency: str = Field(max_length=200)
    idempotency_key: str = Field(max_length=200)
    escalation_id: str = Field(max_length=40)
    action: str = Field(max_length=40)
    request_hash: str = Field(max_length=64)
    # None while the action is on its way; then the answer's status and, for a refusal, why.
    status_code: int | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text))
    # The workflow's refusal: its code and the values it decided on, so a repeat's page says
    # the same reason in its language (casework/acting.py).
    refusal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CaseKey(SQLModel, table=True):
    """An escalation's own secret: it seals the case details into the audit chain (a keyed hash,
    so a seal kept about a child never lets anyone confirm a guessed name or reference)."""

    __tablename__ = "case_key"

    escalation_id: str = Field(primary_key=True, max_length=40)
    secret: str = Field(max_length=64)  # base64 of 32 random bytes
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CaseCorrection(SQLModel, table=True):
    """One case detail corrected: the value it replaced stays here, for the partnership only.
    The new value and the reason are on the audit chain (its `corrected` event)."""

    __tablename__ = "case_correction"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: str = Field(max_length=40, index=True)
    event_key: str = Field(max_length=120, unique=True)
    field: str = Field(max_length=40)
    previous_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    corrected_by: str = Field(max_length=200)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AccessEvent(SQLModel, table=True):
    """Someone looked: a view of an escalation's case details, a search, a download. Append-only
    (PostgreSQL refuses updates and deletes), apart from the action timeline."""

    __tablename__ = "access_event"

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: str | None = Field(default=None, max_length=40, index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=200)
    # page | record | api | export | search | subject access...
    purpose: str = Field(max_length=40)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
