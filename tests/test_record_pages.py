"""Correcting a case detail on the pages, the correction on the page and the record, the original
for the partnership only, and who has viewed the record; SQLite and PostgreSQL."""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from sqlmodel import col, select

from casework.subject_access import SubjectAccessQuery as Query
from casework.subject_access import escalations_about
from database.engine import session_factory
from database.tables import AccessEvent
from tests.ladders import CHAIR, CS_MANAGER, PARTNERSHIP, POLICE_MANAGER, PRACTITIONER
from tests.pages_stack import PagesStack, csrf_of
from tests.test_pages import escalation, events, raise_through_pages

REASON = "Name misspelt at raise"


@dataclass
class Chair:
    name: str = "Independent chair"
    agency: str = PARTNERSHIP
    role: str = "board"


THE_CHAIR = Chair()


async def test_a_correction_on_the_page_and_record_with_the_original_for_the_partnership(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
        page = await practitioner.get(f"/escalations/{escalation_id}")
        assert "Correct a case detail" not in page.text  # a practitioner may not
        refused = await practitioner.get(f"/escalations/{escalation_id}/correct")
        assert refused.status_code == 403
    address = f"/escalations/{escalation_id}/correct"

    async with pages_stack.signed_in(POLICE_MANAGER) as manager:
        page = await manager.get(f"/escalations/{escalation_id}")
        assert f'href="{address}"' in page.text
        form = await manager.get(address)
        assert form.status_code == 200 and "Which detail is wrong?" in form.text
        token = csrf_of(form.text)
        empty = await manager.post(address, data={"csrf_token": token})
        assert empty.status_code == 422
        assert 'href="#field"' in empty.text and 'href="#reason"' in empty.text
        future = await manager.post(
            address,
            data={
                "csrf_token": token,
                "field": "child_date_of_birth",
                "value": "2099-01-01",
                "reason": REASON,
            },
        )
        assert future.status_code == 422 and "date of birth is in the future" in future.text
        forged = await manager.post(address, data={"field": "child_name", "value": "X"})
        assert forged.status_code == 403
        done = await manager.post(
            address,
            data={
                "csrf_token": token,
                "field": "child_name",
                "value": "Amelia Sample",
                "reason": REASON,
            },
        )
        assert done.status_code == 303
        page = await manager.get(done.headers["location"])
        assert "The case detail is corrected" in page.text
        assert "Amelia Sample" in page.text and REASON in page.text
        assert "Corrected on " in page.text and "by DS Patel (Northshire Police)" in page.text
        assert "Original" not in page.text and "Amelia &lt;b&gt;" not in page.text
        assert "Who has viewed this record" not in page.text
    assert (await escalation(pages_stack, escalation_id)).child_name == "Amelia Sample"
    assert (await events(pages_stack, escalation_id))[-1] == "corrected"

    async with pages_stack.signed_in(CS_MANAGER) as receiver:
        record = await receiver.get(f"/escalations/{escalation_id}/record")
        assert "Amelia Sample" in record.text and REASON in record.text
        assert "Original" not in record.text
        assert (await receiver.get(address)).status_code == 403

    async with pages_stack.signed_in(CHAIR) as chair:
        page = await chair.get(f"/escalations/{escalation_id}")
        assert "Original (seen by the partnership only): Amelia &lt;b&gt;Example&lt;/b&gt;" in (
            page.text
        )
        assert "Who has viewed this record" in page.text
        viewed = page.text.split("Who has viewed this record", 1)[1]
        for who, how in (
            ("DS Patel (Northshire Police)", "Escalation page"),
            ("Team manager Sam Jones (Northshire Children&#39;s Services)", "Printable record"),
            ("Independent chair", "Escalation page"),
        ):
            assert who in viewed and how in viewed, who
    async with session_factory(pages_stack.engine)() as db:
        found = (
            await db.exec(select(AccessEvent).where(AccessEvent.escalation_id == escalation_id))
        ).all()
    assert [a.purpose for a in found] == ["page", "page", "page", "record", "page"]


async def test_the_partnership_downloads_a_subject_access_bundle(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
        refused = await practitioner.get("/subject-access")
        assert refused.status_code == 403 and "Download" not in refused.text
    reference = (await escalation(pages_stack, escalation_id)).child_reference
    assert reference is not None
    async with session_factory(pages_stack.engine)() as db:
        rows = await escalations_about(db, THE_CHAIR, Query(child_reference=reference))
        about = [row.id for row in rows]
    assert escalation_id in about

    async with pages_stack.signed_in(CHAIR) as chair:
        token = csrf_of((await chair.get("/subject-access")).text)
        empty = await chair.post(
            "/subject-access", data={"csrf_token": token, "child_name": "Amelia"}
        )
        assert empty.status_code == 422 and 'href="#child_date_of_birth-day"' in empty.text
        found = await chair.post(
            "/subject-access", data={"csrf_token": token, "child_reference": reference}
        )
        assert found.status_code == 200
        assert all(f'href="/escalations/{one}"' in found.text for one in about)
        assert (await chair.post("/subject-access/bundle", data={})).status_code == 403
        download = await chair.post(
            "/subject-access/bundle", data={"csrf_token": token, "child_reference": reference}
        )
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"

    files = zipfile.ZipFile(io.BytesIO(download.content))
    lines = [line.split("  ") for line in files.read("SHA256SUMS").decode().splitlines()]
    sums = {name: digest for digest, name in lines}
    assert set(sums) == {"subject-access.html", "subject-access.json", "subject-access.pdf"}
    for name, digest in sums.items():
        assert hashlib.sha256(files.read(name)).hexdigest() == digest, name
    bundle = json.loads(files.read("subject-access.json"))
    assert [item["id"] for item in bundle["escalations"]] == about
    assert escalation_id in files.read("subject-access.html").decode()
    assert files.read("subject-access.pdf").startswith(b"%PDF")
    async with session_factory(pages_stack.engine)() as db:
        purposes = [
            a.purpose
            for a in (
                await db.exec(select(AccessEvent).where(col(AccessEvent.actor).startswith("Indep")))
            ).all()
        ]
    assert "subject access search" in purposes and "subject access" in purposes


async def test_only_the_partnership_holds_an_escalation_on_its_page(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
        page = await practitioner.get(f"/escalations/{escalation_id}")
        assert "Place the hold" not in page.text
        refused = await practitioner.post(
            f"/escalations/{escalation_id}/legal-hold/hold",
            data={"csrf_token": csrf_of(page.text), "reason": "Mine"},
        )
        assert refused.status_code == 403
    async with pages_stack.signed_in(CHAIR) as chair:
        page = await chair.get(f"/escalations/{escalation_id}")
        address = f"/escalations/{escalation_id}/legal-hold/hold"
        forged = await chair.post(address, data={"reason": "Care proceedings"})
        assert forged.status_code == 403
        held = await chair.post(
            address, data={"csrf_token": csrf_of(page.text), "reason": "Care proceedings"}
        )
        assert held.status_code == 303, held.text
        page = await chair.get(held.headers["location"])
        assert "Under a legal hold since" in page.text and "Release the hold" in page.text
    assert (await escalation(pages_stack, escalation_id)).hold_reason == "Care proceedings"
    assert (await events(pages_stack, escalation_id))[-1] == "held"
