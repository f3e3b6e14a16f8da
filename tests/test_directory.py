"""The directory in the service, over real HTTP with a worker and an SMTP listener, on SQLite and
PostgreSQL: the business unit imports a CSV, a person imported a moment ago signs in and raises
and a person added a moment ago is mailed, an agency's manager runs their own agency only, a
leaver is locked out at once, and every change is on the directory's record."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import text
from sqlmodel import col, select

from database.directory_people import find_active_person
from database.engine import session_factory
from database.tables import AuditEvent, DirectoryEvent, DirectoryPerson
from tests.browser import browser, needs_chromium
from tests.ladders import (
    BUSINESS_UNIT,
    CHILDRENS_SERVICES,
    CS_MANAGER,
    HEALTH,
    HEALTH_MANAGER,
    POLICE,
    POLICE_MANAGER,
    PRACTITIONER,
)
from tests.pages_stack import PagesStack, csrf_of
from tests.polling import eventually
from tests.test_audit_tamper import verify_audit
from tests.test_browser import Visit, choose, press, type_into, visit
from tests.test_pages import ANSWERS, raise_through_pages
from web.routes.directory_pages import MESSAGES

__all__ = ["browser", "visit"]  # the browser test's fixtures

ACADEMY = "Northshire Academy Trust"
ACADEMY_HEAD = "head@academy.example.org"
ACADEMY_DSL = "dsl@academy.example.org"
# Excel's byte order mark, a good agency and two people, then four bad rows.
IMPORT = (
    "\ufeffagency,agency_kind,name,email,role,active\r\n"
    f"{ACADEMY},school,Ms Head,{ACADEMY_HEAD},manager,yes\r\n"
    f"{ACADEMY},school,Mr Lee (DSL),{ACADEMY_DSL},practitioner,\r\n"
    f"{ACADEMY},school,Merlin,merlin@academy.example.org,wizard,yes\r\n"
    f"{ACADEMY},school,No Address,not-an-address,practitioner,yes\r\n"
    f"{ACADEMY},school,Mr Lee again,{ACADEMY_DSL.upper()},practitioner,yes\r\n"
    f'{ACADEMY},school,"Tab\tName",tab@academy.example.org,practitioner,yes\r\n'
)


async def person(stack: PagesStack, email: str) -> DirectoryPerson | None:
    async with session_factory(stack.engine)() as db:
        key = email.casefold()
        return (
            await db.exec(select(DirectoryPerson).where(DirectoryPerson.email_key == key))
        ).first()


async def check_and_save(
    client: httpx.AsyncClient, fields: dict[str, str], form_page: str = "/directory/people/new"
) -> httpx.Response:
    """The add or change form, then its check page's Save; the answer to the last post."""
    page = await client.get(form_page)
    assert page.status_code == 200, page.text
    checked = await client.post(
        "/directory/people/check", data={**fields, "csrf_token": csrf_of(page.text)}
    )
    if checked.status_code != 200:
        return checked
    assert "Check the details before saving" in checked.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', checked.text))
    return await client.post("/directory/people/save", data=hidden)


async def test_an_import_is_checked_then_confirmed_and_counts_at_once(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(BUSINESS_UNIT) as admin:
        form = await admin.get("/directory/import")
        assert form.status_code == 200
        files = {"file": ("people.csv", IMPORT.encode(), "text/csv")}
        check = await admin.post(
            "/directory/import", data={"csrf_token": csrf_of(form.text)}, files=files
        )
        assert check.status_code == 200, check.text
        assert "To add (2)" in check.text
        for line, reason in [
            (4, "unknown role &#39;wizard&#39;"),
            (5, "bad email address"),
            (6, "duplicate of line 3"),
            (7, "control characters in name"),
        ]:
            assert re.search(rf">{line}</td>\s*<td[^>]*>{reason}", check.text), (line, reason)
        async with session_factory(pages_stack.engine)() as db:
            assert await find_active_person(db, ACADEMY_DSL) is None  # nothing until confirmed
        done = await admin.post(
            "/directory/import/confirm", data={"csrf_token": csrf_of(check.text)}
        )
        assert done.status_code == 303, done.text
        assert (
            "2 added, 0 changed, 0 deactivated" in (await admin.get(done.headers["location"])).text
        )
        again = await admin.post(
            "/directory/import/confirm", data={"csrf_token": csrf_of(check.text)}
        )
        assert again.status_code == 409  # confirmed once only

    # Imported a moment ago: signs in from the mailed link, no restart, and raises.
    async with pages_stack.signed_in(ACADEMY_DSL) as dsl:
        escalation_id = await raise_through_pages(dsl, ANSWERS)
    # The worker mails the academy's head, added a moment ago, at stage 1.
    [mail] = await pages_stack.mail_to(ACADEMY_HEAD, subject=escalation_id)
    assert "New escalation at stage 1" in str(mail["Subject"])

    # The academy is party to an open escalation: its only manager cannot go.
    async with pages_stack.signed_in(BUSINESS_UNIT) as admin:
        head = await person(pages_stack, ACADEMY_HEAD)
        assert head is not None
        refused = await check_and_save(
            admin,
            {
                "person_id": str(head.id),
                "name": "Ms Head",
                "agency": ACADEMY,
                "role": "manager",
                "active": "no",
            },
            f"/directory/people/{head.id}/change",
        )
        assert refused.status_code == 422
        assert "is the last manager of Northshire Academy Trust" in refused.text
    assert (await person(pages_stack, ACADEMY_HEAD)).active  # type: ignore[union-attr]

    # A later import with active = no deactivates the DSL: their open session ends at once.
    async with (
        pages_stack.signed_in(ACADEMY_DSL) as dsl,
        pages_stack.signed_in(BUSINESS_UNIT) as admin,
    ):
        form = await admin.get("/directory/import")
        leaver = (
            "agency,agency_kind,name,email,role,active\r\n"
            f"{ACADEMY},school,Mr Lee (DSL),{ACADEMY_DSL},practitioner,no\r\n"
        )
        check = await admin.post(
            "/directory/import",
            data={"csrf_token": csrf_of(form.text)},
            files={"file": ("leaver.csv", leaver.encode(), "text/csv")},
        )
        assert "To deactivate (1)" in check.text
        await admin.post("/directory/import/confirm", data={"csrf_token": csrf_of(check.text)})
        refused = await dsl.get("/")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/sign-in")
    async with session_factory(pages_stack.engine)() as db:
        assert await find_active_person(db, ACADEMY_DSL) is None


async def test_an_agency_manager_runs_their_own_agency_only(pages_stack: PagesStack) -> None:
    colleague = "pc.khan@police.example.org"
    async with pages_stack.signed_in(POLICE_MANAGER) as manager:
        listing = await manager.get("/directory")
        assert listing.status_code == 200
        assert "PC Reyes" in listing.text and "Team manager Sam Jones" not in listing.text
        added = await check_and_save(
            manager,
            {
                "name": "PC Khan",
                "email": colleague,
                "agency": POLICE,
                "role": "practitioner",
                "active": "yes",
            },
        )
        assert added.status_code == 303, added.text
        assert "done=added" in added.headers["location"]
        shown = await manager.get(added.headers["location"])
        assert "PC Khan" in shown.text and "The person is added" in shown.text

        # Another agency, a role above their own, a partnership role: refused, nothing changed.
        for fields, said in [
            ({"agency": CHILDRENS_SERVICES, "role": "practitioner"}, "You manage only the people"),
            ({"agency": POLICE, "role": "executive"}, "You cannot give a role above your own"),
            ({"agency": POLICE, "role": "board"}, "role of the partnership"),
        ]:
            page = await manager.get("/directory/people/new")
            answer = await manager.post(
                "/directory/people/check",
                data={
                    "name": "Someone",
                    "email": "someone@police.example.org",
                    "active": "yes",
                    **fields,
                    "csrf_token": csrf_of(page.text),
                },
            )
            assert answer.status_code == 422 and said in answer.text, (fields, answer.text)
            assert "govuk-error-summary" in answer.text
        assert await person(pages_stack, "someone@police.example.org") is None
        cs_manager = await person(pages_stack, CS_MANAGER)
        assert cs_manager is not None
        elsewhere = await manager.get(f"/directory/people/{cs_manager.id}")
        assert elsewhere.status_code == 404
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        assert (await practitioner.get("/directory")).status_code == 403
    async with session_factory(pages_stack.engine)() as db:
        found = await find_active_person(db, colleague)
    assert found is not None and found.agency == POLICE and found.role == "practitioner"


async def test_a_leaver_is_locked_out_at_once_and_told_nothing_more(
    pages_stack: PagesStack,
) -> None:
    leaver = "second.nurse@nhs.example.org"
    async with pages_stack.signed_in(BUSINESS_UNIT) as admin:
        added = await check_and_save(
            admin,
            {
                "name": "Second nurse",
                "email": leaver,
                "agency": HEALTH,
                "role": "manager",
                "active": "yes",
            },
        )
        assert added.status_code == 303, added.text
    row = await person(pages_stack, leaver)
    assert row is not None
    unspent = await pages_stack.sign_in_link(leaver)
    async with pages_stack.signed_in(leaver) as session:
        assert (await session.get("/")).status_code == 200
        async with pages_stack.signed_in(BUSINESS_UNIT) as admin:
            gone = await check_and_save(
                admin,
                {
                    "person_id": str(row.id),
                    "name": "Second nurse",
                    "agency": HEALTH,
                    "role": "manager",
                    "active": "no",
                },
                f"/directory/people/{row.id}/change",
            )
            assert gone.status_code == 303 and "done=deactivated" in gone.headers["location"]
        # The open session's next request gets the sign-in page; the unspent link is dead.
        refused = await session.get("/")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/sign-in")
    async with pages_stack.browser_client() as browser:
        assert (await browser.get(unspent)).status_code == 400

    # An escalation against Health tells its manager, not the leaver.
    answers = [("/raise", {"receiving_agency": HEALTH, "policy": "standard"}), *ANSWERS[1:]]
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner, answers)
    await pages_stack.mail_to(HEALTH_MANAGER, subject=escalation_id)

    async def notified() -> bool:
        async with session_factory(pages_stack.engine)() as db:
            found = await db.exec(
                select(AuditEvent).where(
                    AuditEvent.escalation_id == escalation_id, AuditEvent.action == "notified"
                )
            )
            return found.first() is not None

    await eventually(notified, "the notification of the escalation against Health")
    assert pages_stack.mailbox.to(leaver) == [
        m for m in pages_stack.mailbox.to(leaver) if "sign-in link" in str(m["Subject"])
    ]


async def test_every_change_is_on_the_record_and_an_edited_row_is_caught(
    pages_stack: PagesStack, tmp_path: Path
) -> None:
    async with pages_stack.signed_in(BUSINESS_UNIT) as admin:
        record = await admin.get("/directory/record")
        assert record.status_code == 200
        assert "DIRECTORY_FILE" in record.text  # the seed's own entries
    async with pages_stack.signed_in(POLICE_MANAGER) as manager:
        assert (await manager.get("/directory/record")).status_code == 403
    async with session_factory(pages_stack.engine)() as db:
        events = (await db.exec(select(DirectoryEvent).order_by(col(DirectoryEvent.id)))).all()
    seeded = [e for e in events if e.actor == "DIRECTORY_FILE"]
    assert {e.after["email"] for e in seeded if e.subject.startswith("person:") and e.after} >= {
        PRACTITIONER,
        CS_MANAGER,
        BUSINESS_UNIT,
    }

    clean = verify_audit(pages_stack.settings.database_url, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "directory entries: no problems" in clean.stdout

    target = await person(pages_stack, PRACTITIONER)
    assert target is not None
    async with pages_stack.engine.begin() as db:
        await db.execute(
            text("UPDATE directory_person SET role = 'board' WHERE id = :id"), {"id": target.id}
        )
    try:
        caught = verify_audit(pages_stack.settings.database_url, tmp_path)
        assert caught.returncode == 1
        assert f"directory person:{target.id}: the row differs from its record (role)" in (
            caught.stdout
        )
    finally:
        async with pages_stack.engine.begin() as db:
            await db.execute(
                text("UPDATE directory_person SET role = 'practitioner' WHERE id = :id"),
                {"id": target.id},
            )


async def test_a_professional_requests_access_and_a_manager_approves(
    pages_stack: PagesStack,
) -> None:
    newcomer, declined = "new.nurse@nhs.example.org", "other.nurse@nhs.example.org"
    async with pages_stack.browser_client() as browser:
        assert 'href="/request-access"' in (await browser.get("/sign-in")).text
        for name, email in (("New nurse", newcomer), ("Other nurse", declined)):
            details = await browser.post("/request-access", data={"name": name, "email": email})
            assert details.status_code == 200
            # The address's domain is Health's: chosen already.
            assert re.search(rf'<option value="{HEALTH}" selected', details.text)
            sent = await browser.post(
                "/request-access",
                data={
                    "step": "details",
                    "name": name,
                    "email": email,
                    "agency": HEALTH,
                    "role": "practitioner",
                },
            )
            assert "Your request has been sent" in sent.text
        # Someone already in the directory gets the same answer, and no one is asked.
        known = await browser.post(
            "/request-access",
            data={
                "step": "details",
                "name": "PC Reyes",
                "email": PRACTITIONER,
                "agency": POLICE,
                "role": "manager",
            },
        )
        assert "Your request has been sent" in known.text
        assert HEALTH_MANAGER not in sent.text and BUSINESS_UNIT not in sent.text
    await pages_stack.mail_to(HEALTH_MANAGER, 2, "Request for access")
    await pages_stack.mail_to(BUSINESS_UNIT, 2, "Request for access")
    assert not [m for m in pages_stack.mailbox.to(POLICE_MANAGER) if "Request" in str(m["Subject"])]

    async with pages_stack.signed_in(HEALTH_MANAGER) as manager:
        waiting = await manager.get("/directory/requests")
        assert "New nurse" in waiting.text and "Other nurse" in waiting.text
        first, second = re.findall(r'action="/directory/requests/(\d+)"', waiting.text)
        for request_id, decision in ((first, "approve"), (second, "decline")):
            answered = await manager.post(
                f"/directory/requests/{request_id}",
                data={"decision": decision, "csrf_token": csrf_of(waiting.text)},
            )
            assert answered.status_code == 303, answered.text
    [approved] = await pages_stack.mail_to(newcomer, subject="request for access")
    assert "approved" in approved.get_content()
    [refused] = await pages_stack.mail_to(declined, subject="request for access")
    assert "not approved" in refused.get_content()
    async with session_factory(pages_stack.engine)() as db:
        added = await find_active_person(db, newcomer)
        assert added is not None and (added.agency, added.role) == (HEALTH, "practitioner")
        assert await find_active_person(db, declined) is None
    async with pages_stack.signed_in(newcomer) as signed_in:  # at once, from a mailed link
        assert (await signed_in.get("/")).status_code == 200


@needs_chromium()
@pytest.mark.parametrize("module_database_url", ["sqlite"], indirect=True)
async def test_the_directory_pages_in_a_browser_pass_axe(
    visit: object, pages_stack: PagesStack, tmp_path: Path
) -> None:
    async with visit() as newcomer:  # type: ignore[operator]
        assert isinstance(newcomer, Visit)
        page = newcomer.page
        await page.goto("/sign-in")
        await page.get_by_role("link", name="Request access").click()
        await newcomer.check("request-access")
        await type_into(page, "Full name", "Jo Bloggs")
        await type_into(page, "Work email address", "jo.bloggs@nhs.example.org")
        await press(page, "Continue")
        await expect(page.get_by_label("Your agency")).to_have_value(HEALTH)
        await newcomer.check("request-access-details")
        await choose(page, "Practitioner")
        await press(page, "Send the request")
        await expect(page.get_by_role("heading", name="Your request has been sent")).to_be_visible()
        await newcomer.check("request-access-sent")
    link = await pages_stack.sign_in_link(BUSINESS_UNIT, "/directory/requests")
    async with visit() as admin:  # type: ignore[operator]
        assert isinstance(admin, Visit)
        page = admin.page
        await page.goto(link)
        await press(page, "Sign in")
        await expect(page.get_by_role("cell", name="Jo Bloggs", exact=True)).to_be_visible()
        await admin.check("directory-requests")
        await page.goto("/directory")
        await expect(page.get_by_role("heading", name="Directory")).to_be_visible()
        await admin.check("directory-people")
        await page.get_by_role("button", name="Add a person").click()
        await press(page, "Continue")  # nothing given: each field named, GOV.UK style
        await expect(page.get_by_role("link", name=MESSAGES["name"])).to_be_visible()
        await admin.check("directory-add-errors")
        await type_into(page, "Full name", "Dr Asha Rao")
        await type_into(page, "Work email address", "asha.rao@nhs.example.org")
        await page.get_by_label("Agency").select_option(HEALTH)
        await choose(page, "Executive")
        await press(page, "Continue")
        await expect(page.get_by_role("heading", name="Check the details")).to_be_visible()
        await admin.check("directory-add-check")
        await press(page, "Save")
        await expect(page.get_by_text("The person is added")).to_be_visible()
        await admin.check("directory-person")

        await page.goto("/directory/import")
        await admin.check("directory-import")
        upload = tmp_path / "people.csv"
        nursery = IMPORT.replace(ACADEMY, "Northshire Nursery").replace("academy", "nursery")
        upload.write_text(nursery.replace("ACADEMY", "NURSERY"))
        await page.get_by_label("CSV file").set_input_files(upload)
        await press(page, "Check the file")
        await expect(page.get_by_role("heading", name="Check the import")).to_be_visible()
        await admin.check("directory-import-check")
        await press(page, "Confirm the good rows")
        await expect(page.get_by_text("2 added, 0 changed, 0 deactivated")).to_be_visible()
        await admin.check("directory-import-done")
        await page.goto("/directory?q=nursery")
        await expect(page.get_by_role("link", name="Mr Lee (DSL)")).to_be_visible()
        await page.goto("/directory/agencies")
        await admin.check("directory-agencies")
        await page.get_by_role("button", name="Add an agency").click()
        await type_into(page, "Name", "Northshire Youth Club")
        await choose(page, "Voluntary or community group")
        await press(page, "Continue")
        await expect(page.get_by_role("heading", name="Check the agency")).to_be_visible()
        await admin.check("directory-agency-check")
        await press(page, "Save")
        await expect(page.get_by_text("The agency is added")).to_be_visible()
        await page.goto("/directory/record")
        await expect(page.get_by_text("Dr Asha Rao").first).to_be_visible()
        await admin.check("directory-record")


async def test_the_business_unit_adds_an_agency_and_sets_its_domains(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(BUSINESS_UNIT) as admin:
        form = await admin.get("/directory/agencies/new")
        empty = await admin.post(
            "/directory/agencies/check", data={"csrf_token": csrf_of(form.text)}
        )
        assert empty.status_code == 422
        assert "Enter the agency&#39;s name" in empty.text and "Choose what kind" in empty.text
        taken = await admin.post(
            "/directory/agencies/check",
            data={"csrf_token": csrf_of(form.text), "name": POLICE.upper(), "kind": "police"},
        )
        assert "in the directory already" in taken.text
        check = await admin.post(
            "/directory/agencies/check",
            data={
                "csrf_token": csrf_of(form.text),
                "name": "Northshire Early Years Hub",
                "kind": "early_years",
                "email_domains": "eyh.example.org\nEYH2.example.org",
            },
        )
        assert check.status_code == 200 and "eyh.example.org, eyh2.example.org" in check.text
        hidden = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', check.text)
        )
        saved = await admin.post("/directory/agencies/save", data=hidden)
        assert saved.status_code == 303 and saved.headers["location"].endswith("done=added")
        listed = await admin.get("/directory/agencies?q=early years")
        assert "Northshire Early Years Hub" in listed.text and "Early years" in listed.text
    async with pages_stack.signed_in(POLICE_MANAGER) as manager:
        assert (await manager.get("/directory/agencies")).status_code == 403
    async with pages_stack.browser_client() as browser:  # the domain now chooses the agency
        details = await browser.post(
            "/request-access", data={"name": "Sam", "email": "sam@rooms.eyh2.example.org"}
        )
        assert re.search(r'<option value="Northshire Early Years Hub" selected', details.text)
