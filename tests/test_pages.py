"""The pages without JavaScript: plain form posts over real HTTP, against the API, a worker on
the dev server and an SMTP listener, on SQLite and PostgreSQL."""

import asyncio
import html
import re
from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import col, func, select

from casework.reading import readable
from database.audit_chain import timeline
from database.engine import session_factory
from database.tables import AuditEvent, Escalation, PersonSession, SignInLink, utc_now
from tests.conftest import new_key
from tests.engine_helpers import NOT_STEPS
from tests.ladders import (
    CHAIR,
    CHILDRENS_SERVICES,
    CS_MANAGER,
    HEALTH_MANAGER,
    POLICE,
    PRACTITIONER,
    STRANGER,
)
from tests.pages_stack import LINK, SIGN_IN_LIMIT, PagesStack, csrf_of
from tests.polling import eventually
from web.sessions import token_hash

ANSWERS = [
    ("/raise", {"receiving_agency": CHILDRENS_SERVICES, "policy": "standard"}),
    (
        "/raise/child",
        {
            "child_reference": "NP-2291",
            "child_name": "Amelia <b>Example</b>",
            "child_date_of_birth-day": "2",
            "child_date_of_birth-month": "4",
            "child_date_of_birth-year": "2015",
        },
    ),
    (
        "/raise/disagreement",
        {
            "summary": "Three referrals about neglect closed as threshold not met.",
            "category": "neglect",
        },
    ),
    ("/raise/risk", {"immediate_risk": "no"}),
]
ESCALATION_LINK = re.compile(r"https?://\S+/escalations/(ESC-[0-9A-Z]+)")


async def raise_through_pages(
    client: httpx.AsyncClient, answers: list[tuple[str, dict[str, str]]] = ANSWERS
) -> str:
    """Answers each question page, checks the answers and sends; the new reference."""
    for path, fields in answers:
        page = await client.get(path)
        assert page.status_code == 200, page.text
        answered = await client.post(path, data={**fields, "csrf_token": csrf_of(page.text)})
        assert answered.status_code == 303, answered.text
    check = await client.get("/raise/check")
    assert "Check your answers" in check.text
    sent = await client.post("/raise/check", data={"csrf_token": csrf_of(check.text)})
    assert sent.status_code == 303, sent.text
    done = await client.get(sent.headers["location"])
    assert "Escalation raised" in done.text
    found = re.search(r"<strong>\s*(ESC-[0-9A-Z]+)\s*</strong>", done.text)
    assert found is not None
    return found.group(1)


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def act_through_pages(
    client: httpx.AsyncClient, escalation_id: str, path: str, **answers: str
) -> httpx.Response:
    """An action as a person takes it: the answers to its question page (with the escalation
    page's CSRF token) then, when they pass, the confirmation page's button. The last answer:
    303 to the panel once done, else the page that says why not."""
    page = await client.get(f"/escalations/{escalation_id}")
    answered = await client.post(
        f"/escalations/{escalation_id}/actions/{path}",
        data={"csrf_token": csrf_of(page.text), **answers},
    )
    if answered.status_code != 200:
        return answered
    confirmed = {name: html.unescape(value) for name, value in HIDDEN.findall(answered.text)}
    return await client.post(f"/escalations/{escalation_id}/actions/{path}/confirm", data=confirmed)


async def escalation(stack: PagesStack, escalation_id: str) -> Escalation:
    """The record, what people wrote opened with the escalation's own key."""
    async with session_factory(stack.engine)() as db:
        row = await db.get(Escalation, escalation_id)
        assert row is not None
        return await readable(db, row)


async def events(stack: PagesStack, escalation_id: str) -> list[str]:
    """The steps on the escalation's record, oldest first."""
    async with session_factory(stack.engine)() as db:
        return [e.action for e in await timeline(db, escalation_id) if e.action not in NOT_STEPS]


async def session_count(stack: PagesStack) -> int:
    async with session_factory(stack.engine)() as db:
        return (await db.exec(select(func.count()).select_from(PersonSession))).one()


# --- signing in ----------------------------------------------------------------------------


async def test_the_same_answer_for_known_and_unknown_addresses(pages_stack: PagesStack) -> None:
    links_before = len(pages_stack.mails(CHAIR, "sign-in link"))
    async with pages_stack.browser_client() as client:
        form = await client.get("/sign-in")
        assert 'name="email"' in form.text and form.headers["content-type"].startswith("text/html")
        unknown = await client.post("/sign-in", data={"email": STRANGER})
        known = await client.post("/sign-in", data={"email": CHAIR})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(CHAIR, "ADDRESS") == unknown.text.replace(STRANGER, "ADDRESS")
    # The event to wait on: the link asked for after the stranger's has come, so a mail the
    # stranger's request had sent would be here by now.
    mail = (await pages_stack.mail_to(CHAIR, links_before + 1, "sign-in link"))[-1]
    token = LINK.search(mail.get_content()).group(0).rsplit("/", 1)[1]  # type: ignore[union-attr]
    assert pages_stack.mailbox.to(STRANGER) == []
    async with session_factory(pages_stack.engine)() as db:
        stored = (await db.exec(select(SignInLink).where(SignInLink.email == CHAIR))).all()
    assert token_hash(token) in {link.token_hash for link in stored}
    assert token not in {link.token_hash for link in stored}  # only the hash is kept
    assert "Amelia" not in mail.get_content()


async def test_an_address_in_the_wrong_shape_is_named(pages_stack: PagesStack) -> None:
    async with pages_stack.browser_client() as client:
        answer = await client.post("/sign-in", data={"email": "not-an-address"})
    assert answer.status_code == 422
    assert "There is a problem" in answer.text and 'href="#email"' in answer.text
    assert "Enter an email address in the correct format" in answer.text


async def test_sign_in_requests_are_limited_per_address(pages_stack: PagesStack) -> None:
    flooded = "flood@elsewhere.example.org"
    async with pages_stack.browser_client() as client:
        answers = [
            (await client.post("/sign-in", data={"email": flooded})).status_code
            for _ in range(SIGN_IN_LIMIT + 1)
        ]
    assert answers == [200] * SIGN_IN_LIMIT + [429]


async def test_the_mailed_link_opens_a_button_and_signs_in_once(pages_stack: PagesStack) -> None:
    link = await pages_stack.sign_in_link(CHAIR)
    async with pages_stack.browser_client() as client:
        confirm = await client.get(link)
        assert confirm.status_code == 200 and "Sign in" in confirm.text
        assert confirm.headers["referrer-policy"] == "same-origin"
        again = await client.get(link)  # a mail scanner's fetch spends nothing
        assert again.status_code == 200
        spent = await client.post(link, data={"csrf_token": csrf_of(again.text)})
        assert spent.status_code == 303 and spent.headers["location"] == "/"
        cookie = spent.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # PUBLIC_URL is http here
        home = await client.get("/")
        assert home.status_code == 200 and "Independent chair" in home.text

        sessions = await session_count(pages_stack)
        reused = await client.get(link)
        assert reused.status_code == 400 and "already been used or has expired" in reused.text
        reused = await client.post(link, data={"csrf_token": csrf_of(again.text)})
        assert reused.status_code == 400 and "already been used or has expired" in reused.text
    assert await session_count(pages_stack) == sessions


async def test_an_expired_link_is_refused(pages_stack: PagesStack) -> None:
    link = await pages_stack.sign_in_link(CS_MANAGER)
    async with session_factory(pages_stack.engine)() as db:
        stored = (
            await db.exec(
                select(SignInLink).where(SignInLink.token_hash == token_hash(link.rsplit("/")[-1]))
            )
        ).one()
        stored.expires_at = utc_now() - timedelta(seconds=1)
        db.add(stored)
        await db.commit()
    sessions = await session_count(pages_stack)
    async with pages_stack.browser_client() as client:
        refused = await client.get(link)
        assert refused.status_code == 400 and "has expired" in refused.text
        refused = await client.post(link, data={"csrf_token": "x"})
        assert refused.status_code in (400, 403)
    assert await session_count(pages_stack) == sessions


async def test_the_confirm_button_needs_its_own_token(pages_stack: PagesStack) -> None:
    """A page elsewhere cannot sign a browser in as someone else (login CSRF)."""
    link = await pages_stack.sign_in_link(CS_MANAGER)
    async with pages_stack.browser_client() as client:
        refused = await client.post(link, data={})
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
        confirm = await client.get(link)  # the link still works
        spent = await client.post(link, data={"csrf_token": csrf_of(confirm.text)})
        assert spent.status_code == 303


async def test_no_open_redirect_through_next(pages_stack: PagesStack) -> None:
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/ok"):
        link = await pages_stack.sign_in_link(CHAIR, next_path=hostile)
        async with pages_stack.browser_client() as client:
            confirm = await client.get(link)
            spent = await client.post(link, data={"csrf_token": csrf_of(confirm.text)})
        assert spent.headers["location"] == ("/ok" if hostile == "/ok" else "/")


async def test_a_new_session_id_at_sign_in_and_sign_out_ends_it(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(CHAIR) as client:
        first = client.cookies["escalations_session"]
        link = await pages_stack.sign_in_link(CHAIR)
        confirm = await client.get(link)
        await client.post(link, data={"csrf_token": csrf_of(confirm.text)})
        second = client.cookies["escalations_session"]
        assert second != first
        async with pages_stack.browser_client() as old:
            old.cookies.set("escalations_session", first)
            assert (await old.get("/")).status_code == 303  # the old id no longer works

        home = await client.get("/")
        out = await client.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303 and out.headers["location"].startswith("/sign-in")
        client.cookies.set("escalations_session", second)
        assert (await client.get("/")).status_code == 303


async def test_a_session_ends_after_30_idle_minutes(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(HEALTH_MANAGER) as client:
        assert (await client.get("/")).status_code == 200
        async with session_factory(pages_stack.engine)() as db:
            session = (
                await db.exec(
                    select(PersonSession).where(
                        PersonSession.token_hash
                        == token_hash(client.cookies["escalations_session"])
                    )
                )
            ).one()
            session.last_seen_at = utc_now() - timedelta(minutes=31)
            db.add(session)
            await db.commit()
        answer = await client.get("/")
        assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"


# --- raising and acting --------------------------------------------------------------------


async def test_raise_resolve_and_see_the_outcome_without_javascript(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    row = await escalation(pages_stack, escalation_id)
    assert row.raising_agency == POLICE and row.raised_by == "PC Reyes (Northshire Police)"
    assert (
        row.child_name == "Amelia <b>Example</b>" and str(row.child_date_of_birth) == "2015-04-02"
    )

    # The receiving manager follows the notification's link and signs in on the way.
    mails = await pages_stack.mail_to(CS_MANAGER, subject=escalation_id)
    body = mails[-1].get_content()
    assert "Amelia" not in body and "neglect" not in body
    link = ESCALATION_LINK.search(body)
    assert link is not None and link.group(1) == escalation_id
    async with pages_stack.browser_client() as manager:
        bounced = await manager.get(link.group(0))
        assert bounced.status_code == 303
        assert bounced.headers["location"] == f"/sign-in?next=%2Fescalations%2F{escalation_id}"
        sign_in = await manager.get(bounced.headers["location"])
        assert f'value="/escalations/{escalation_id}"' in sign_in.text
        token_link = await pages_stack.sign_in_link(CS_MANAGER, f"/escalations/{escalation_id}")
        confirm = await manager.get(token_link)
        spent = await manager.post(token_link, data={"csrf_token": csrf_of(confirm.text)})
        assert spent.headers["location"] == f"/escalations/{escalation_id}"

        page = await manager.get(spent.headers["location"])
        assert page.status_code == 200
        assert "Stage 1 of 3" in page.text and "Current stage" in page.text
        assert "Amelia &lt;b&gt;Example&lt;/b&gt;" in page.text  # escaped, never markup
        assert f'href="/escalations/{escalation_id}/actions/resolve"' in page.text
        assert "/actions/withdraw" not in page.text  # the raising agency's only
        # The case first, then what can be done, then the timeline.
        assert page.text.index("Amelia") < page.text.index("What you can do now")
        assert page.text.index("What you can do now") < page.text.index("Timeline")

        question = await manager.get(f"/escalations/{escalation_id}/actions/resolve")
        assert question.status_code == 200 and "Outcome agreed" in question.text
        empty = await act_through_pages(manager, escalation_id, "resolve", outcome="")
        assert empty.status_code == 422 and 'href="#resolve-outcome"' in empty.text
        answers = {
            "outcome": "Strategy discussion booked",
            "agreed_actions": "Section 47 enquiry\nReview in 4 weeks",
        }
        confirmation = await manager.post(
            f"/escalations/{escalation_id}/actions/resolve",
            data={"csrf_token": csrf_of(page.text), **answers},
        )
        assert confirmation.status_code == 200 and "Strategy discussion booked" in confirmation.text
        assert "The escalation closes as resolved" in confirmation.text
        assert await events(pages_stack, escalation_id) == ["raised"]  # not until confirmed
        changing = await manager.post(
            f"/escalations/{escalation_id}/actions/resolve/change",
            data={"csrf_token": csrf_of(page.text), **answers},
        )
        assert changing.status_code == 200 and "Continue" in changing.text
        assert ">Strategy discussion booked</textarea>" in changing.text  # kept, to change
        resolved = await act_through_pages(manager, escalation_id, "resolve", **answers)
        assert resolved.status_code == 303
        panel = await manager.get(resolved.headers["location"])
        assert "govuk-panel" in panel.text and "The escalation is resolved" in panel.text
        after = await manager.get(f"/escalations/{escalation_id}")
        assert "What you can do now" in after.text and "/actions/resolve" not in after.text

        # Acting again on the closed escalation: a clear refusal, nothing changes.
        again = await manager.post(
            f"/escalations/{escalation_id}/actions/notes",
            data={"csrf_token": csrf_of(page.text), "text": "late"},
        )
        assert again.status_code == 409 and "already resolved" in again.text
        stale = await manager.post(
            f"/escalations/{escalation_id}/actions/notes/confirm",
            data={"csrf_token": csrf_of(page.text), "text": "late"},
        )
        assert stale.status_code == 409 and "already resolved" in stale.text
    row = await escalation(pages_stack, escalation_id)
    assert row.status == "resolved" and row.agreed_actions == [
        "Section 47 enquiry",
        "Review in 4 weeks",
    ]
    assert row.closed_by == "Team manager Sam Jones (Northshire Children's Services)"
    assert await events(pages_stack, escalation_id) == ["raised", "resolved"]

    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        closed = await practitioner.get("/?view=closed")
        assert escalation_id in closed.text
        page = await practitioner.get(f"/escalations/{escalation_id}")
        assert "Strategy discussion booked" in page.text and "Section 47 enquiry" in page.text
        record = await practitioner.get(f"/escalations/{escalation_id}/record")
        assert record.text.count("OFFICIAL-SENSITIVE") >= 2 and "print.css" in record.text
        assert "Resolved" in record.text and "Raised" in record.text


async def test_the_same_address_still_answers_json_to_the_api(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    _, token = await new_key(pages_stack.engine, name="hub", agency=POLICE, role="manager")
    async with httpx.AsyncClient(base_url=pages_stack.url) as api:
        answer = await api.get(
            f"/escalations/{escalation_id}",
            headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        )
        assert answer.status_code == 200 and answer.json()["id"] == escalation_id
        assert "content-security-policy" not in answer.headers
        anonymous = await api.get(f"/escalations/{escalation_id}")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"


async def test_an_uninvolved_agency_gets_404(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    async with pages_stack.signed_in(HEALTH_MANAGER) as outsider:
        for path in (f"/escalations/{escalation_id}", f"/escalations/{escalation_id}/record"):
            answer = await outsider.get(path)
            assert answer.status_code == 404 and "Page not found" in answer.text
            assert "Amelia" not in answer.text
        home = await outsider.get("/?view=all")
        assert escalation_id not in home.text
        page = await outsider.get("/")
        refused = await outsider.post(
            f"/escalations/{escalation_id}/actions/notes/confirm",
            data={"csrf_token": csrf_of(page.text), "text": "nosy"},
        )
        assert refused.status_code == 404
    assert await events(pages_stack, escalation_id) == ["raised"]


async def test_missing_csrf_token_and_tampered_cookie_change_nothing(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
        action = f"/escalations/{escalation_id}/actions/notes/confirm"
        missing = await practitioner.post(action, data={"text": "forged"})
        assert missing.status_code == 403 and "Nothing was changed" in missing.text
        wrong = await practitioner.post(action, data={"text": "forged", "csrf_token": "guess"})
        assert wrong.status_code == 403
        page = await practitioner.get(f"/escalations/{escalation_id}")
        cross_site = await practitioner.post(
            action,
            data={"text": "forged", "csrf_token": csrf_of(page.text)},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403
        tampered = practitioner.cookies["escalations_session"][:-2] + "xx"
        practitioner.cookies.set("escalations_session", tampered)
        refused = await practitioner.post(
            action, data={"text": "forged", "csrf_token": csrf_of(page.text)}
        )
        assert refused.status_code == 401 and "sign in again" in refused.text.lower()
        bounced = await practitioner.get(f"/escalations/{escalation_id}")
        assert bounced.status_code == 303 and bounced.headers["location"].startswith("/sign-in")
    assert await events(pages_stack, escalation_id) == ["raised"]


async def test_question_pages_name_each_problem(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        page = await practitioner.get("/raise")
        csrf = csrf_of(page.text)
        answer = await practitioner.post("/raise", data={"csrf_token": csrf})
        assert answer.status_code == 422
        assert 'href="#receiving_agency"' in answer.text
        answer = await practitioner.post(
            "/raise", data={"csrf_token": csrf, "receiving_agency": "Made-up agency"}
        )
        assert answer.status_code == 422
        answer = await practitioner.post(
            "/raise/child",
            data={
                "csrf_token": csrf,
                "child_reference": "",
                "child_date_of_birth-day": "31",
                "child_date_of_birth-month": "2",
                "child_date_of_birth-year": "2015",
            },
        )
        assert answer.status_code == 422
        assert "Enter your agency&#39;s reference for the child" in answer.text
        assert "Date of birth must be a real date" in answer.text
        assert 'href="#child_date_of_birth-day"' in answer.text
        risk = await practitioner.get("/raise/risk")
        assert "999" in risk.text and "MASH" in risk.text  # before anything is sent
        answer = await practitioner.post(
            "/raise/risk", data={"csrf_token": csrf, "immediate_risk": "yes"}
        )
        assert answer.status_code == 422 and "Enter what the immediate risk is" in answer.text


async def test_immediate_risk_shows_the_warning_and_goes_urgent(pages_stack: PagesStack) -> None:
    answers: list[tuple[str, dict[str, Any]]] = [
        *ANSWERS[:3],
        ("/raise/risk", {"immediate_risk": "yes", "risk_reason": "Disclosure of violence"}),
    ]
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        for path, fields in answers:
            page = await practitioner.get(path)
            await practitioner.post(path, data={**fields, "csrf_token": csrf_of(page.text)})
        check = await practitioner.get("/raise/check")
        assert "contact MASH or the police (999) now" in check.text
        sent = await practitioner.post("/raise/check", data={"csrf_token": csrf_of(check.text)})
        done = await practitioner.get(sent.headers["location"])
        assert "999" in done.text
    escalation_id = re.search(r"ESC-[0-9A-Z]+", done.text).group(0)  # type: ignore[union-attr]
    row = await escalation(pages_stack, escalation_id)
    assert row.policy == "urgent" and row.risk_reason == "Disclosure of violence"


async def test_the_partnership_sees_all_and_acts_on_an_overdue_escalation(
    pages_stack: PagesStack,
) -> None:
    quick = [
        ("/raise", {"receiving_agency": CHILDRENS_SERVICES, "policy": "quick"}),
        *ANSWERS[1:],
    ]
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner, quick)

    async def at_the_top() -> Escalation | None:  # both 2-second stages pass by themselves
        row = await escalation(pages_stack, escalation_id)
        return row if row.stage == 3 else None

    row = await eventually(at_the_top, "stage 3")
    assert row.stage == 3 and row.stage_role == "board"
    async with pages_stack.signed_in(CHAIR) as chair:
        home = await chair.get("/")
        assert escalation_id in home.text and "Stage 3 of 3" in home.text
        page = await chair.get(f"/escalations/{escalation_id}")
        assert "/actions/escalate" not in page.text  # the top of the ladder
        done = await act_through_pages(
            chair, escalation_id, "resolve", outcome="Partnership decision"
        )
        assert done.status_code == 303
    row = await escalation(pages_stack, escalation_id)
    assert row.status == "resolved" and row.closed_by is not None
    assert "Independent chair" in row.closed_by


async def test_pages_carry_a_strict_policy_and_the_docs_are_left_alone(
    pages_stack: PagesStack,
) -> None:
    async with pages_stack.browser_client() as client:
        page = await client.get("/sign-in")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in policy and "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
        assert page.headers["x-frame-options"] == "DENY"
        docs = await client.get("/docs")
        assert "content-security-policy" not in docs.headers
        health = await client.get("/healthz")
        assert "content-security-policy" not in health.headers
        css = await client.get("/govuk/govuk-frontend.min.css")
        assert css.status_code == 200 and "govuk-template" in css.text
        font = await client.get(re.search(r"/assets/fonts/[^)]+\.woff2", css.text).group(0))  # type: ignore[union-attr]
        assert font.status_code == 200
        script = await client.get("/static/init.js")
        assert script.status_code == 200 and "initAll" in script.text


async def test_home_lists_waiting_raised_and_filters(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
    async with pages_stack.signed_in(CS_MANAGER) as manager:
        waiting = await manager.get("/")
        assert escalation_id in waiting.text and "Stage 1 of 3" in waiting.text
        raised = await manager.get("/?view=raised")
        assert escalation_id not in raised.text
        overdue = await manager.get("/?view=waiting&overdue=true")
        assert escalation_id not in overdue.text
        by_agency = await manager.get("/", params={"view": "waiting", "agency": POLICE})
        assert escalation_id in by_agency.text
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        mine = await practitioner.get("/?view=raised")
        assert escalation_id in mine.text
    async with session_factory(pages_stack.engine)() as db:
        rows = (
            await db.exec(select(AuditEvent).where(col(AuditEvent.escalation_id) == escalation_id))
        ).all()
    assert rows  # the raise is on the record


FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


async def test_a_double_submitted_form_acts_once(pages_stack: PagesStack) -> None:
    async with pages_stack.signed_in(PRACTITIONER) as practitioner:
        escalation_id = await raise_through_pages(practitioner)
        page = await practitioner.get(f"/escalations/{escalation_id}")
        answers = {"csrf_token": csrf_of(page.text), "text": "Rang"}
        confirmation = await practitioner.post(
            f"/escalations/{escalation_id}/actions/notes", data=answers
        )
        form_id = FORM_ID.search(confirmation.text)
        assert form_id is not None, "the confirmation's button carries a one-time id"
        form = {**answers, "form_id": form_id.group(1)}
        path = f"/escalations/{escalation_id}/actions/notes/confirm"
        # A double click: the second arrives while, or after, the first is taken.
        first, second = await asyncio.gather(
            practitioner.post(path, data=form), practitioner.post(path, data=form)
        )
        assert {first.status_code, second.status_code} <= {303, 409}, second.text
        resubmitted = await practitioner.post(path, data=form)  # the browser's back and resend
        assert resubmitted.status_code == 303
        assert resubmitted.headers["location"].endswith("/actions/notes/done")
        again = await practitioner.post(f"/escalations/{escalation_id}/actions/notes", data=answers)
        assert FORM_ID.search(again.text).group(1) != form_id.group(1)  # type: ignore[union-attr]
    assert await events(pages_stack, escalation_id) == ["raised", "note"]
