"""DIRECTORY_FILE as a seed, and the CSV's own checks, on SQLite and PostgreSQL: the file adds
what the database lacks and never removes or changes what it holds; a CSV's rows are read with
the line numbers a spreadsheet shows."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from casework.directory_changes import BadRow, PersonRow, apply, plan
from casework.directory_csv import CsvFileError, read_people, write_people
from casework.directory_seed import seed
from core.directory import Directory
from database.directory_people import find_active_person, recipients
from database.directory_trail import directory_problems
from database.engine import session_factory
from database.tables import ContactRoute, DirectoryAgency, DirectoryEvent
from tests.engine_helpers import DIRECTORY, RAISING, RECEIVING
from tests.ladders import BUSINESS_UNIT
from web.routes.directory_pages import page_links
from workflows.models import NotificationInput

WITH_A_HOOK = Directory.model_validate(
    {
        **DIRECTORY.model_dump(mode="json"),
        "agencies": [
            *DIRECTORY.model_dump(mode="json")["agencies"],
            {
                "name": "Northshire Constabulary",
                "kind": "police",
                "email_domains": ["police.example"],
                "contacts": [
                    {"name": "Hub", "role": "manager", "webhook": "https://hub.police.example/"}
                ],
            },
        ],
    }
)


async def test_the_file_adds_what_is_missing_and_changes_nothing(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    await seed(sessions, WITH_A_HOOK)
    async with sessions() as db:
        head = await find_active_person(db, "HEAD@school.example")
        assert head is not None and (head.agency, head.role) == (RAISING, "manager")
        business_unit = await find_active_person(db, BUSINESS_UNIT)
        assert business_unit is not None
        assert business_unit.directory_role == "business_unit" and business_unit.role == "board"
        police = (
            await db.exec(
                select(DirectoryAgency).where(DirectoryAgency.name == "Northshire Constabulary")
            )
        ).one()
        assert (police.kind, police.email_domains) == ("police", ["police.example"])
        assert len((await db.exec(select(ContactRoute))).all()) == 1
        first = len((await db.exec(select(DirectoryEvent))).all())
        # The business unit makes the head a practitioner; the file says manager.
        demoted = await plan(
            db, [PersonRow(1, RAISING, "school", "Head", "head@school.example", "practitioner")]
        )
        await apply(db, demoted, "Business unit (Partnership)")
    await seed(sessions, WITH_A_HOOK)  # a restart
    async with sessions() as db:
        head = await find_active_person(db, "head@school.example")
        assert head is not None and head.role == "practitioner"  # the database's, not the file's
        assert len((await db.exec(select(DirectoryEvent))).all()) == first + 1
        assert await directory_problems(db) == (
            len((await db.exec(select(DirectoryEvent))).all()) - 1,
            [],
        )
        told = await recipients(
            db,
            NotificationInput(
                notification_key="k",
                escalation_id="ESC-1",
                kind="raised",
                raising_agency="Northshire Constabulary",
                receiving_agency=RECEIVING,
                stage=1,
                stage_name="Line managers",
                role="manager",
                tell_partnership=True,
            ),
        )
    assert {r.address for r in told} >= {"https://hub.police.example/", BUSINESS_UNIT}


def test_csv_rows_are_read_with_their_line_numbers() -> None:
    data = (
        "\ufeffAgency,agency_kind,name,email,role\r\n"
        'Police,police,"Patel, Priya",PRIYA@police.example,manager\r\n'
        "\r\n"
        'Police,police,"Two\r\nlines",two@police.example,manager\r\n'
        "Police,police,Short,short@police.example\r\n"
        "Police,spaceship,Kind,kind@police.example,manager\r\n"
    ).encode()
    rows = read_people(data)
    assert isinstance(rows[0], PersonRow) and rows[0].line == 2 and rows[0].active
    assert rows[0].name == "Patel, Priya" and rows[0].email == "PRIYA@police.example"
    assert [(bad.line, bad.reason) for bad in rows[1:] if isinstance(bad, BadRow)] == [
        (5, "control characters in name"),
        (6, "fewer values than columns"),
        (7, "unknown agency_kind 'spaceship'"),
    ]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"name,email\r\nA,a@b.example\r\n", "missing: agency, agency_kind, role"),
        (b"agency,agency_kind,name,email,role,team\r\n", "Unknown columns: team"),
    ],
)
def test_a_file_that_cannot_be_read_is_named(data: bytes, said: str) -> None:
    with pytest.raises(CsvFileError, match=said):
        read_people(data)


def test_the_export_reads_back_as_the_same_people() -> None:
    person = {
        "agency": "Police",
        "name": "=Not a formula",
        "email": "a@police.example",
        "role": "manager",
        "active": False,
        "language": "en",
    }
    [row] = read_people(write_people([(person, "police")]).encode())
    assert isinstance(row, PersonRow) and not row.active and row.name == "'=Not a formula"


def test_pages_of_50_link_the_ends_and_the_neighbours() -> None:
    assert page_links("/directory", 1, 50) is None
    links = page_links("/directory", 5, 1000, q="school")
    assert links is not None
    numbers = [item.get("number", "…") for item in links["items"]]
    assert numbers == [1, "…", 3, 4, 5, 6, 7, "…", 20]
    assert links["previous"] == {"href": "/directory?q=school&page=4"}
    assert links["next"] == {"href": "/directory?q=school&page=6"}
