"""Every operation in the API's own OpenAPI document, driven by schemathesis over real HTTP with
valid, invalid and missing keys, valid and invalid data: never a 5xx, and every answer (status,
content type, headers, body) as the document says. Examples are bounded and derandomised, so the
run takes seconds and fails the same way twice."""

import asyncio
import ipaddress
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_stack import ApiStack
from tests.ladders import CHILDRENS_SERVICES, HEALTH, PARTNERSHIP, POLICE

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


def forwarded_for() -> Iterator[str]:
    """A fresh client address per bad-key request, so key guessing limits never blur the run."""
    for n in itertools.count(1):
        yield str(ipaddress.IPv4Address("10.0.0.0") + n)


def drive(
    base_url: str, callers: dict[str, dict[str, str]], escalation_ids: list[str]
) -> Counter[str]:
    """Runs every operation's examples (in a thread: the API answers on the test's event loop);
    answers how many requests each operation was sent."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    addresses = forwarded_for()
    sent: Counter[str] = Counter()

    def send(case: schemathesis.Case, who: str) -> None:
        headers = dict(callers[who])
        if who in ("not a key", "no key"):
            headers["X-Forwarded-For"] = next(addresses)
        response = case.call(base_url=base_url, headers=headers)
        sent[case.operation.label] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    operations = [operation for path in schema for operation in schema[path].values()]
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
        if "{escalation_id}" in operation.path:  # real escalations too, not only unknown ones
            cases = st.one_of(cases, on_escalations(operation, escalation_ids))
        run(cases, st.sampled_from(sorted(callers)), send)
    return sent


def on_escalations(
    operation: schemathesis.APIOperation, escalation_ids: list[str]
) -> st.SearchStrategy[schemathesis.Case]:
    return st.sampled_from(escalation_ids).flatmap(
        lambda escalation_id: operation.as_strategy(
            path_parameters={"escalation_id": escalation_id}
        )
    )


def run(
    cases: st.SearchStrategy[schemathesis.Case],
    who: st.SearchStrategy[str],
    send: Callable[[schemathesis.Case, str], None],
) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=cases, caller=who)
    def examples(case: schemathesis.Case, caller: str) -> None:
        send(case, caller)

    examples()


async def test_every_operation_answers_as_documented(api_stack: ApiStack) -> None:
    practitioner = await api_stack.key(POLICE, "practitioner")
    callers: dict[str, dict[str, Any]] = {
        "board": await api_stack.key(PARTNERSHIP, "board"),
        "practitioner": practitioner,
        "receiving manager": await api_stack.key(CHILDRENS_SERVICES, "manager"),
        "uninvolved executive": await api_stack.key(HEALTH, "executive"),
        "not a key": {"Authorization": "Bearer esk_not-a-key"},
        "no key": {},
    }
    escalation_ids = []
    for _ in range(3):
        raised = await api_stack.http.post(
            "/escalations",
            json={
                "receiving_agency": CHILDRENS_SERVICES,
                "child_reference": "NP-1180",
                "summary": "Referral closed as threshold not met.",
            },
            headers=practitioner,
        )
        escalation_ids.append(raised.json()["id"])

    sent = await asyncio.to_thread(drive, api_stack.settings.public_url, callers, escalation_ids)

    document = (await api_stack.http.get("/openapi.json")).json()
    documented = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert set(sent) == documented and "POST /codec/decode" in documented
