"""Who sees which escalation, without servers: every role, relation and status held against the
one rule (casework/visibility.py), as a row test and as the SQL condition the lists, pages and
report filter by."""

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import get_args

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel, select

from casework.visibility import may_see_escalation, visible_to
from database.tables import PENDING, Escalation, utc_now
from workflows.models import Status
from workflows.policy import ROLES

RAISING, RECEIVING, OTHER, PARTNERSHIP = "School", "Children's Services", "Police", "Partnership"
# Where the viewer's agency stands to the escalation.
RELATIONS = {
    "raising": RAISING,
    "receiving": RECEIVING,
    "uninvolved": OTHER,
    "partnership": PARTNERSHIP,
}
STATUSES = [*get_args(Status), PENDING]

# Whether a viewer of this role, at an agency so related, sees a recorded escalation. The
# partnership's role is `board`; a board key sees every escalation, wherever its agency stands.
SEES_RECORDED = {
    ("practitioner", "raising"): True,
    ("practitioner", "receiving"): True,
    ("practitioner", "uninvolved"): False,
    ("practitioner", "partnership"): False,
    ("manager", "raising"): True,
    ("manager", "receiving"): True,
    ("manager", "uninvolved"): False,
    ("manager", "partnership"): False,
    ("executive", "raising"): True,
    ("executive", "receiving"): True,
    ("executive", "uninvolved"): False,
    ("executive", "partnership"): False,
    ("board", "raising"): True,
    ("board", "receiving"): True,
    ("board", "uninvolved"): True,
    ("board", "partnership"): True,
}
CASES = [
    (role, relation, status, SEES_RECORDED[role, relation] and status != PENDING)
    for role, relation, status in product(ROLES, RELATIONS, STATUSES)
]


@dataclass
class Viewer:
    name: str
    agency: str
    role: str


def escalation(status: str) -> Escalation:
    now = utc_now()
    return Escalation(
        id=f"ESC-{status.upper()}",
        policy="standard",
        raising_agency=RAISING,
        receiving_agency=RECEIVING,
        raised_by="DSL (School)",
        created_at=now,
        updated_at=now,
        status=status,
    )


@pytest.fixture(scope="module")
def database() -> Iterator[Session]:
    """One escalation of each status, in an SQLite database in memory."""
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as db:
        db.add_all([escalation(status) for status in STATUSES])
        db.commit()
        yield db


def test_the_table_covers_every_role_and_relation() -> None:
    assert set(SEES_RECORDED) == set(product(ROLES, RELATIONS))


@pytest.mark.parametrize(("role", "relation", "status", "sees"), CASES)
def test_who_sees_an_escalation(
    database: Session, role: str, relation: str, status: str, sees: bool
) -> None:
    viewer = Viewer(name="Someone", agency=RELATIONS[relation], role=role)
    assert may_see_escalation(viewer, escalation(status)) is sees
    listed = database.exec(select(Escalation.id).where(visible_to(viewer))).all()
    assert (f"ESC-{status.upper()}" in listed) is sees
