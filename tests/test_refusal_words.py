"""The pages say the workflow's refusals with the values the workflow decided on (its error's
details), never the policy file or record as they are later, in the page's language with its
plural forms: the rules' own errors, read as casework reads them from Temporal."""

import pytest
from temporalio.exceptions import ApplicationError

from casework.acting import workflow_problem
from casework.refusals import ProblemError
from core.languages import in_language, said
from tests.engine_helpers import RECEIVING, escalation_input
from workflows.models import ActionRequest, EscalationState
from workflows.policy import Policy, Span, Stage
from workflows.rules import (
    EXTENSION_TOO_LONG,
    NO_EXTENSIONS_LEFT,
    NOT_PERMITTED,
    check_action,
)


def at_stage_one(max_extensions: int, longest: Span, used: int) -> EscalationState:
    """An escalation at the first stage of a ladder of its own, `used` extensions agreed."""
    stage = Stage(
        name="Practitioner",
        role="practitioner",
        working_days=5,
        max_extensions=max_extensions,
        max_extension=longest,
    )
    policy = Policy(title="Ladder", stages=[stage, stage.model_copy(update={"role": "manager"})])
    facts = escalation_input("own", policy).model_dump(
        exclude={"start_stage", "continue_as_new_after_events", "carried"}
    )
    return EscalationState(**facts, raised=True, steps_stage=1, extensions_used=used)


def refusal(state: EscalationState, **fields: object) -> ProblemError:
    """What casework makes of the workflow's refusal of `fields`."""
    request = ActionRequest.model_validate({"by": "Sam", **fields})
    with pytest.raises(ApplicationError) as raised:
        check_action(state, request)
    return workflow_problem(raised.value)


def in_both(problem: ProblemError) -> tuple[str, str]:
    """The API's English and the Welsh page's sentence."""
    assert problem.said is not None
    with in_language("cy"):
        return problem.detail, said(problem.said)


ELSEWHERE = "Northshire Housing"
EXTEND = {"action": "extend", "agency": RECEIVING, "role": "manager", "reason": "Time"}


@pytest.mark.parametrize(
    ("allowed", "english", "welsh"),
    [
        (1, "stage 1 allows 1 extension(s): 1 already agreed", "caniatáu 1 estyniad: mae 1"),
        (3, "stage 1 allows 3 extension(s): 3 already agreed", "caniatáu 3 estyniad: mae 3"),
    ],
)
def test_no_extensions_left_is_said_with_the_workflows_numbers(
    allowed: int, english: str, welsh: str
) -> None:
    state = at_stage_one(allowed, Span(working_days=2), used=allowed)
    problem = refusal(state, **EXTEND, extension=Span(working_days=1))
    assert (problem.status, problem.code) == (409, NO_EXTENSIONS_LEFT)
    assert problem.values == {"stage": 1, "allowed": allowed, "used": allowed}
    detail, page = in_both(problem)
    assert detail == english  # the workflow's own message, byte for byte
    assert welsh in page and "mae cam 1 yn" in page
    # English pages say the number with its plural form.
    assert problem.said is not None
    assert str(problem.said) == english.replace(
        "extension(s)", "extensions" if allowed > 1 else "extension"
    )


def test_too_long_names_the_longest_the_workflow_allowed() -> None:
    # The policy file may say something else by the time the page shows the refusal: the page
    # reads only what the workflow's error carries (here, 2 working days and 7 hours).
    for longest, asked, english, welsh in (
        (Span(working_days=2), Span(working_days=30), "2 working days", "2 diwrnod gwaith"),
        (Span(duration="PT7H"), Span(duration="PT30H"), "7 hours", "7 awr"),
    ):
        state = at_stage_one(1, longest, used=0)
        problem = refusal(state, **EXTEND, extension=asked)
        assert (problem.status, problem.code) == (422, EXTENSION_TOO_LONG)
        detail, page = in_both(problem)
        assert detail == f"an extension at stage 1 is at most {english}"
        assert page == f"Mae estyniad ar gam 1 yn {welsh} ar y mwyaf"


def test_a_refused_person_is_told_who_may_act_from_the_workflows_values() -> None:
    state = at_stage_one(1, Span(working_days=2), used=0)
    problem = refusal(state, action="resolved", outcome="Done", agency=ELSEWHERE, role="manager")
    assert (problem.status, problem.code) == (403, NOT_PERMITTED)
    detail, page = in_both(problem)
    assert detail.startswith("Only a practitioner or above of") and ELSEWHERE in detail
    assert page.startswith("Dim ond") and ELSEWHERE in page and "ar gam 1 (Ymarferydd)" in page
    assert problem.values is not None and problem.values["stage"] == 1


def test_an_error_without_values_is_said_by_its_code_alone() -> None:
    # From a worker older than the values: what the code says, or the workflow's English.
    general = workflow_problem(ApplicationError("stage 1 allows …", type=NO_EXTENSIONS_LEFT))
    assert (
        general.said is not None and general.said.message == "this stage allows no more extensions"
    )
    person = workflow_problem(ApplicationError("Only …", type=NOT_PERMITTED))
    assert person.said is None and person.detail == "Only …"
