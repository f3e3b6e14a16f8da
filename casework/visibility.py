"""Who sees which escalation: one rule for the API's lists and reads, every page, the record and
the oversight report (figures and CSV).

A person or key sees an escalation their agency raised or received, and the partnership sees
every one (workflows.rules.may_see, the rule the workflow itself acts by). Nobody sees one that
is still `pending`, a raise whose workflow has not recorded it: only the reconciler reads those,
to finish or remove them. `may_see_escalation` says it of one row, `visible_to` as the SQL
condition the lists and figures filter by; tests/test_visibility.py holds both to the same table.
"""

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from casework.actors import Actor, role_of
from database.tables import PENDING, Escalation
from workflows.rules import may_see


def may_see_escalation(viewer: Actor, row: Escalation) -> bool:
    return row.status != PENDING and may_see(
        viewer.agency,
        role_of(viewer),
        raising_agency=row.raising_agency,
        receiving_agency=row.receiving_agency,
    )


def visible_to(viewer: Actor) -> ColumnElement[bool]:
    """The escalations `viewer` may see, as a WHERE condition on the escalation table."""
    recorded = col(Escalation.status) != PENDING
    if role_of(viewer) == "board":
        return recorded
    involved = or_(
        col(Escalation.raising_agency) == viewer.agency,
        col(Escalation.receiving_agency) == viewer.agency,
    )
    return and_(recorded, involved)
