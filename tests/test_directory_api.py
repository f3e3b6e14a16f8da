"""The directory's API for systems, over real HTTP on SQLite and PostgreSQL: partnership keys
list, add, change and deactivate people and agencies, by the pages' rules and on the same
record; anyone else is refused."""

from sqlmodel import col, select

from database.engine import session_factory
from database.tables import DirectoryEvent
from tests.api_stack import ApiStack
from tests.ladders import CHILDRENS_SERVICES, PARTNERSHIP, POLICE
from tests.test_api import raise_one

SIXTH_FORM = "Northshire Sixth Form College"
HEAD = "head@sixthform.example.org"


async def test_a_partnership_key_runs_people_and_agencies(api_stack: ApiStack) -> None:
    http = api_stack.http
    board = await api_stack.key(PARTNERSHIP, "board", "HR feed")
    manager = await api_stack.key(POLICE, "manager")
    assert (await http.get("/people", headers=manager)).status_code == 403

    added = await http.put(
        f"/agencies/{SIXTH_FORM}",
        headers=board,
        json={"kind": "school", "email_domains": ["SixthForm.example.org"]},
    )
    assert added.status_code == 201, added.text
    assert added.json() == {
        "name": SIXTH_FORM,
        "kind": "school",
        "email_domains": ["sixthform.example.org"],
    }
    again = await http.put(
        f"/agencies/{SIXTH_FORM}",
        headers=board,
        json={"kind": "school", "email_domains": ["sixthform.example.org"]},
    )
    assert again.status_code == 200
    second = await http.put(
        "/agencies/Another partnership", headers=board, json={"kind": "partnership"}
    )
    assert second.status_code == 422 and second.json()["errors"][0]["field"] == "kind"

    person = {"name": "Ms Head", "agency": SIXTH_FORM.upper(), "role": "manager"}
    created = await http.put(f"/people/{HEAD}", headers=board, json=person)
    assert created.status_code == 201, created.text
    assert created.json() | {} == {
        "name": "Ms Head",
        "email": HEAD,
        "agency": SIXTH_FORM,
        "role": "manager",
        "active": True,
        "language": "en",
    }
    welsh = await http.put(f"/people/{HEAD}", headers=board, json=person | {"language": "cy"})
    assert welsh.status_code == 200 and welsh.json()["language"] == "cy"
    listed = await http.get("/people", params={"q": "sixth form"}, headers=board)
    assert listed.json()["total"] == 1

    for body, field in [
        (person | {"role": "wizard"}, "role"),
        (person | {"name": "Tab\there"}, "name"),
        (person | {"agency": "Nowhere"}, "agency"),
        (person | {"role": "board"}, "role"),  # the partnership's own agency only
    ]:
        refused = await http.put(f"/people/{HEAD}", headers=board, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in [e["field"] for e in refused.json()["errors"]], refused.json()
    assert (await http.put("/people/not-an-address", headers=board, json=person)).status_code == 422

    # The college raises against Children's Services: its only manager stays.
    practitioner = await api_stack.key(SIXTH_FORM, "practitioner")
    await raise_one(api_stack, practitioner, receiving_agency=CHILDRENS_SERVICES)
    kept = await http.post(f"/people/{HEAD}/deactivate", headers=board)
    assert kept.status_code == 409 and "last manager" in kept.json()["detail"]
    deputy = "deputy@sixthform.example.org"
    await http.put(f"/people/{deputy}", headers=board, json=person | {"name": "Deputy"})
    gone = await http.post(f"/people/{HEAD}/deactivate", headers=board)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert (await http.get(f"/people/{HEAD}", headers=board)).json()["active"] is False

    async with session_factory(api_stack.engine)() as db:
        events = (
            await db.exec(
                select(DirectoryEvent)
                .where(DirectoryEvent.actor == f"HR feed ({PARTNERSHIP})")
                .order_by(col(DirectoryEvent.id))
            )
        ).all()
    assert [e.action for e in events] == ["added", "added", "changed", "added", "deactivated"]
    assert events[-1].before and events[-1].before["active"] is True
