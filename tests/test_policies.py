"""Ladders: the built-in ones, and the operator's POLICY_FILE with errors that say where."""

from datetime import timedelta
from pathlib import Path

import pytest

from core.policy_files import PolicyFileError, load_policies, read_policy_file
from workflows.policy import BUILT_IN_POLICIES, Span

# A partnership with a practitioner stage, its own reminders, and a faster urgent track.
POLICY_FILE = """
[policies.westyorks]
title = "Resolution of professional disagreements"
partnership_told_from_stage = 3
overdue_reminder_working_days = 3

[[policies.westyorks.stages]]
name = "Practitioners"
role = "practitioner"
working_days = 2
reminder_before_working_days = 0

[[policies.westyorks.stages]]
name = "Line managers"
role = "manager"
working_days = 5

[[policies.westyorks.stages]]
name = "Safeguarding leads"
role = "executive"
working_days = 5
reminder_before_working_days = 2

[[policies.westyorks.stages]]
name = "Partnership"
role = "board"
working_days = 14

[policies.urgent]
title = "Urgent track: 12 hours a stage"
overdue_reminder_every = "PT2H"

[[policies.urgent.stages]]
name = "Senior managers"
role = "executive"
duration = "PT12H"
reminder_before = "PT2H"

[[policies.urgent.stages]]
name = "Partnership"
role = "board"
duration = 43200
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "policies.toml"
    path.write_text(content, encoding="utf-8")
    return path


def test_built_in_ladders() -> None:
    standard = BUILT_IN_POLICIES["standard"]
    assert [(s.role, s.time_limit) for s in standard.stages] == [
        ("manager", Span(working_days=5)),
        ("executive", Span(working_days=5)),
        ("board", Span(working_days=14)),
    ]
    assert [s.reminder_lead for s in standard.stages] == [Span(working_days=1)] * 3
    assert standard.partnership_stage == 3
    assert standard.overdue_reminder_interval == Span(working_days=2)

    urgent = BUILT_IN_POLICIES["urgent"]
    assert {s.time_limit for s in urgent.stages} == {Span(duration=timedelta(hours=24))}
    assert urgent.partnership_stage == 1
    assert urgent.overdue_reminder_interval == Span(duration=timedelta(hours=4))


def test_no_policy_file_means_the_built_in_ladders() -> None:
    assert load_policies(None) == BUILT_IN_POLICIES


def test_policy_file_adds_and_overrides_ladders(tmp_path: Path) -> None:
    policies = load_policies(write(tmp_path, POLICY_FILE))
    assert set(policies) == {"standard", "urgent", "westyorks"}
    assert policies["standard"] == BUILT_IN_POLICIES["standard"]

    westyorks = policies["westyorks"]
    assert [s.role for s in westyorks.stages] == ["practitioner", "manager", "executive", "board"]
    assert [s.reminder_lead for s in westyorks.stages] == [
        None,  # 0 turns the reminder off
        Span(working_days=1),  # the default for working-day stages
        Span(working_days=2),
        Span(working_days=1),
    ]
    assert westyorks.partnership_stage == 3
    assert westyorks.overdue_reminder_interval == Span(working_days=3)

    urgent = policies["urgent"]
    assert urgent.title == "Urgent track: 12 hours a stage"
    assert [s.time_limit for s in urgent.stages] == [Span(duration=timedelta(hours=12))] * 2
    assert [s.reminder_lead for s in urgent.stages] == [Span(duration=timedelta(hours=2)), None]
    assert urgent.overdue_reminder_interval == Span(duration=timedelta(hours=2))
    assert urgent.partnership_stage == 2  # the top stage unless the policy says otherwise
    # The built-in ladders themselves are untouched for the next load.
    assert BUILT_IN_POLICIES["urgent"].stages[0].duration == timedelta(hours=24)


@pytest.mark.parametrize(
    ("broken", "where", "what"),
    [
        (
            ('role = "executive"', 'role = "chair"'),
            "policy 'westyorks', stage 3, field 'role'",
            "Input should be 'practitioner', 'manager', 'executive' or 'board'",
        ),
        (
            ("working_days = 2", "working_days = 0"),
            "policy 'westyorks', stage 1, field 'working_days'",
            "greater than or equal to 1",
        ),
        (
            ("working_days = 14", "working_days = 14\nhours = 3"),
            "policy 'westyorks', stage 4, field 'hours'",
            "Extra inputs are not permitted",
        ),
        (
            ('duration = "PT12H"', 'duration = "half a day"'),
            "policy 'urgent', stage 1, field 'duration'",
            "duration",
        ),
        (
            ("duration = 43200", "duration = 43200\nworking_days = 1"),
            "policy 'urgent', stage 2",
            "give exactly one of working_days or duration",
        ),
        (
            ('title = "Resolution of professional disagreements"\n', ""),
            "policy 'westyorks', field 'title'",
            "Field required",
        ),
        (
            ("partnership_told_from_stage = 3", "partnership_told_from_stage = 5"),
            "policy 'westyorks'",
            "partnership_told_from_stage is 5 but the ladder has 4 stages",
        ),
    ],
)
def test_invalid_policy_says_which_file_policy_stage_and_field(
    tmp_path: Path, broken: tuple[str, str], where: str, what: str
) -> None:
    old, new = broken
    assert old in POLICY_FILE
    path = write(tmp_path, POLICY_FILE.replace(old, new, 1))
    with pytest.raises(PolicyFileError) as error:
        load_policies(path)
    message = str(error.value)
    assert message.startswith(f"{path}: {where}")
    assert what in message


def test_every_problem_in_a_policy_is_named(tmp_path: Path) -> None:
    both = POLICY_FILE.replace('role = "practitioner"', 'role = "teacher"').replace(
        "working_days = 14", "working_days = 200"
    )
    with pytest.raises(PolicyFileError) as error:
        load_policies(write(tmp_path, both))
    message = str(error.value)
    assert "stage 1, field 'role'" in message
    assert "stage 4, field 'working_days'" in message


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ("[policies.x\ntitle = 1", "cannot read policy file"),  # not TOML
        (
            '[ladders.x]\ntitle = "x"',
            "expected only [policies.NAME] tables (and a top-level `nation`)",
        ),
        ('policies = "standard"', "expected only [policies.NAME] tables"),
    ],
)
def test_unreadable_policy_file(tmp_path: Path, content: str, what: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(PolicyFileError) as error:
        load_policies(path)
    assert str(error.value).startswith(f"{path}: ")
    assert what in str(error.value)


def test_missing_policy_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(PolicyFileError, match="cannot read policy file"):
        load_policies(missing)


def test_the_shipped_example_policies() -> None:
    policies = load_policies(Path(__file__).parents[1] / "config" / "policies.example.toml")

    stage_0 = policies["northshire-stage-0"]
    first = stage_0.stages[0]
    assert (first.role, first.time_limit, first.max_extensions) == (
        "practitioner",
        Span(working_days=2),
        0,
    )
    assert [s.acknowledge_within for s in stage_0.stages] == [
        Span(working_days=1),
        Span(working_days=2),
        Span(working_days=2),
        None,
    ]
    assert stage_0.stages[1].extension_limit == Span(working_days=5)
    assert stage_0.dispute_within == Span(working_days=5)

    dissent = policies["conference-dissent"]
    assert [(s.name, s.role) for s in dissent.stages] == [
        ("Conference chair", "manager"),
        ("Head of service", "executive"),
    ]
    assert dissent.stages[0].acknowledge_within == Span(duration=timedelta(hours=24))
    assert dissent.dispute_within == Span(working_days=3)


def test_the_steps_default_to_one_extension_of_the_stage_limit_and_five_days_to_dispute(
    tmp_path: Path,
) -> None:
    westyorks = load_policies(write(tmp_path, POLICY_FILE))["westyorks"]
    assert [s.acknowledge_within for s in westyorks.stages] == [None] * 4
    assert [s.max_extensions for s in westyorks.stages] == [1] * 4
    assert [s.extension_limit for s in westyorks.stages] == [
        Span(working_days=2),
        Span(working_days=5),
        Span(working_days=5),
        Span(working_days=14),
    ]
    assert westyorks.dispute_within == Span(working_days=5)


@pytest.mark.parametrize(
    ("step", "what"),
    [
        ("acknowledge_within = { hours = 4 }", "acknowledge_within.hours"),
        ('acknowledge_within = { working_days = 1, duration = "PT4H" }', "acknowledge_within"),
        ("max_extensions = -1", "max_extensions"),
        ('max_extension = { duration = "PT0S" }', "max_extension"),
    ],
)
def test_invalid_steps_are_named(tmp_path: Path, step: str, what: str) -> None:
    broken = POLICY_FILE.replace("working_days = 14", f"working_days = 14\n{step}", 1)
    with pytest.raises(PolicyFileError) as error:
        load_policies(write(tmp_path, broken))
    assert f"stage 4, field '{what}'" in str(error.value)


def test_the_files_nation_reaches_every_ladder_unless_one_sets_its_own(tmp_path: Path) -> None:
    scottish = 'nation = "scotland"\n' + POLICY_FILE.replace(
        "[policies.urgent]\n", '[policies.urgent]\nnation = "northern_ireland"\n'
    )
    path = write(tmp_path, scottish)
    policies = load_policies(path)
    assert {name: p.nation for name, p in policies.items()} == {
        "standard": "scotland",  # a built-in ladder follows the file
        "westyorks": "scotland",
        "urgent": "northern_ireland",  # the ladder's own
    }
    assert read_policy_file(path).nation == "scotland"
    assert read_policy_file(write(tmp_path, POLICY_FILE)).nation == "england"
    assert read_policy_file(None).nation == "england"


def test_an_unknown_nation_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="field 'nation'"):
        load_policies(write(tmp_path, 'nation = "cornwall"\n' + POLICY_FILE))


@pytest.mark.parametrize(
    ("file", "nation", "ladder"),
    [("policies.wales.example.toml", "wales", "wales"),
     ("policies.scotland.example.toml", "scotland", "scotland")],
)  # fmt: skip
def test_the_shipped_examples_for_wales_and_scotland(file: str, nation: str, ladder: str) -> None:
    path = Path(__file__).parents[1] / "config" / file
    policies = load_policies(path)
    assert read_policy_file(path).nation == nation
    assert {p.nation for p in policies.values()} == {nation}
    assert policies[ladder].stages[-1].role == "board"
