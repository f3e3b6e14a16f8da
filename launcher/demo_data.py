"""Demo escalations for `make run`'s first start: raised and acted on through the API, so each
one is a real workflow on the demo ladder (stages of minutes) and a newcomer soon sees every
state. Nothing is written behind the workflows' back. DEMO_DATA=0 turns it off."""

import sys
from dataclasses import dataclass

import httpx
from sqlmodel import func, select

from core.policy_files import load_policies
from database.engine import create_engine, session_factory
from database.tables import Escalation
from launcher.plan import Stack

DEMO_POLICY = "demo"
POLICE, CHILDRENS_SERVICES = "Northshire Police", "Northshire Children's Services"


@dataclass(frozen=True)
class DemoCase:
    """One escalation the police raise against children's services, and what is done to it."""

    name: str  # what the welcome text calls it
    child_reference: str
    summary: str
    steps: tuple[tuple[str, str, dict[str, object]], ...] = ()  # (key role, action, body)
    urgent: bool = False


NOTE: dict[str, object] = {
    "text": "School attendance down to 62% this half term; the school nurse is concerned."
}
CASES = (
    DemoCase(
        "open at stage 1, acknowledgement due",
        "DEMO-0001",
        "Third referral about neglect closed as threshold not met.",
        steps=(("manager", "notes", NOTE),),
    ),
    DemoCase(
        "urgent (immediate risk), the same child",
        "DEMO-0001",
        "New bruising seen at school today; referral closed without a visit.",
        urgent=True,
    ),
    DemoCase(
        "at the partnership's stage, overdue within minutes",
        "DEMO-0002",
        "Strategy discussion refused twice; the partnership is asked to decide.",
        steps=(
            ("board", "escalate", {"reason": "No agreement between the line managers."}),
            ("board", "escalate", {"reason": "Senior managers could not agree."}),
        ),
    ),
    DemoCase(
        "resolved by children's services: the police may dispute it",
        "DEMO-0003",
        "Referral about domestic abuse closed with no assessment.",
        steps=(
            (
                "manager",
                "resolve",
                {
                    "outcome": "Child and family assessment opened.",
                    "agreed_actions": ["Social worker allocated by Friday"],
                },
            ),
        ),
    ),
    DemoCase(
        "resolved by the partnership (final)",
        "DEMO-0004",
        "Early help offer withdrawn without telling the school.",
        steps=(("board", "resolve", {"outcome": "Early help offer restored."}),),
    ),
    DemoCase(
        "withdrawn by the police",
        "DEMO-0005",
        "Referral closed before the police's information was shared.",
        steps=(("practitioner", "withdraw", {"reason": "Resolved in a phone call."}),),
    ),
)


async def _database_empty(stack: Stack) -> bool:
    engine = create_engine(stack.settings.database_url)
    try:
        async with session_factory(engine)() as db:
            return (await db.exec(select(func.count()).select_from(Escalation))).one() == 0
    finally:
        await engine.dispose()


async def play(http: httpx.AsyncClient, keys: dict[str, str]) -> list[tuple[str, str]]:
    """Raises and acts on the demo cases through the API; (reference, what it shows) each."""
    bearer = {role: {"Authorization": f"Bearer {token}"} for role, token in keys.items()}
    raised = []
    for number, case in enumerate(CASES, start=1):
        body: dict[str, object] = {
            "receiving_agency": CHILDRENS_SERVICES,
            "child_reference": case.child_reference,
            "summary": case.summary,
            "decision_disputed": "Referral closed: threshold not met",
            "policy": DEMO_POLICY,
        }
        if case.urgent:
            body |= {"immediate_risk": True, "risk_reason": "Injuries seen today."}
        headers = {**bearer["practitioner"], "Idempotency-Key": f"demo-{number}"}
        answer = await http.post("/escalations", json=body, headers=headers)
        answer.raise_for_status()
        reference = str(answer.json()["id"])
        for role, action, fields in case.steps:
            done = await http.post(
                f"/escalations/{reference}/{action}", json=fields, headers=bearer[role]
            )
            done.raise_for_status()
        raised.append((reference, case.name))
    return raised


async def demo_escalations(stack: Stack, keys: dict[str, str]) -> list[tuple[str, str]]:
    """On a first start (no escalation yet) with DEMO_DATA on and the demo ladder in the
    policy file: the demo cases, played. A failure is said, and the stack carries on."""
    settings = stack.settings
    if not settings.demo_data or DEMO_POLICY not in load_policies(settings.policy_file):
        return []
    if not await _database_empty(stack):
        return []
    try:
        async with httpx.AsyncClient(base_url=stack.local_api_url, timeout=30) as http:
            return await play(http, keys)
    except httpx.HTTPError as exc:
        print(f"make run: the demo escalations could not all be raised: {exc}", file=sys.stderr)
        return []
