"""The test partnership, written once: its ladders and its directory (agencies and their people).

A test that needs another ladder or directory builds it here with its difference as arguments
(`ladder`, `directory`), never a copy; `policy_file` and `directory_file` write them as the TOML
files a worker or the API reads.
"""

import json
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.directory import Agency, Contact, Directory, Partnership
from workflows.policy import BUILT_IN_POLICIES, Nation, Policy, Role, Span, Stage

SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)

# --- ladders ------------------------------------------------------------------------------------

# The rungs of most test ladders, by who acts at each; the built-in ladders' names are longer.
RUNGS: dict[Role, str] = {
    "manager": "Line managers",
    "executive": "Senior managers",
    "board": "Partnership",
}
BUILT_IN_NAMES: dict[Role, str] = {s.role: s.name for s in BUILT_IN_POLICIES["standard"].stages}
STANDARD_DAYS = (5, 5, 14)  # the built-in standard ladder's working days a stage
# Which rungs a ladder of so many stages climbs: two skip the senior managers.
CLIMBS: dict[int, tuple[Role, ...]] = {
    1: ("board",),
    2: ("manager", "board"),
    3: ("manager", "executive", "board"),
}
Limit = int | timedelta  # working days, or elapsed time (the urgent track)


def ladder(
    title: str,
    *limits: Limit,
    roles: Sequence[Role] | None = None,
    names: Mapping[Role, str] | None = None,
    steps: Mapping[int, Mapping[str, Any]] | None = None,
    **policy: Any,
) -> Policy:
    """A ladder of the standard rungs, a stage for each of `limits` (working days, or elapsed
    time); `roles` picks other rungs, `names` renames them, `steps` gives a stage (by number,
    from 1) more of a Stage's fields, `policy` more of a Policy's."""
    named = {**RUNGS, **(names or {})}
    stages = []
    for number, (role, limit) in enumerate(
        zip(roles or CLIMBS[len(limits)], limits, strict=True), 1
    ):
        span = {"working_days": limit} if isinstance(limit, int) else {"duration": limit}
        stages.append(Stage(name=named[role], role=role, **span, **(steps or {}).get(number, {})))
    return Policy(title=title, stages=stages, **policy)


# The API's and the pages' ladders: one whose stages pass in seconds, for watching time limits;
# the standard one with the policy's own steps and a dispute window of seconds; Scotland's.
QUICK = ladder("Three quick stages", 2 * SECOND, 2 * SECOND, HOUR)
DISPUTE_STEPS = ladder(
    "Standard ladder with acknowledgement and a short dispute window",
    *STANDARD_DAYS,
    steps={1: {"acknowledge_within": Span(duration=HOUR), "max_extension": Span(working_days=2)}},
    dispute_within=Span(duration=3 * SECOND),
)
# On Scotland's bank holidays (a file's top-level `nation` would set every ladder's).
SCOTTISH = ladder("Twenty Scottish working days", 20, nation="scotland")
STACK_LADDERS = {"quick": QUICK, "steps": DISPUTE_STEPS, "scottish": SCOTTISH}

# The engine tests' standard ladder with the policy's own steps: each manager stage acknowledged
# within 2 working days; the partnership business unit told from stage 2.
ACKNOWLEDGED = {"acknowledge_within": Span(working_days=2)}
STEPS_POLICY = ladder(
    "Standard ladder with acknowledgement",
    *STANDARD_DAYS,
    names=BUILT_IN_NAMES,
    steps={1: ACKNOWLEDGED, 2: ACKNOWLEDGED},
    partnership_told_from_stage=2,
)


# --- the directory ------------------------------------------------------------------------------

PARTNERSHIP = "Northshire Safeguarding Children Partnership"
POLICE = "Northshire Police"
CHILDRENS_SERVICES = "Northshire Children's Services"
HEALTH = "Northshire NHS Trust"
SCHOOL = "Northshire Primary School"
SOCIAL_CARE = "Northshire Children's Social Care"

# Its people, by what they do.
PRACTITIONER = "pc.reyes@police.example.org"
POLICE_MANAGER = "ds.patel@police.example.org"
CS_MANAGER = "sam.jones@cs.example.org"
CS_EXECUTIVE = "ruth.okafor@cs.example.org"
HEALTH_MANAGER = "lee.chen@nhs.example.org"
SCHOOL_DSL = "dsl@school.example"
SCHOOL_HEAD = "head@school.example"
SCHOOL_CEO = "ceo@school.example"
SOCIAL_WORKER = "sw@csc.example"
SOCIAL_CARE_MANAGER = "tm@csc.example"
SOCIAL_CARE_DIRECTOR = "director@csc.example"
CHAIR = "chair@scp.example.org"
BUSINESS_UNIT = "business.unit@scp.example.org"
STRANGER = "nobody@elsewhere.example.org"


def contact(name: str, email: str, role: Role | None = None, **fields: Any) -> Contact:
    return Contact(name=name, role=role, email=email, **fields)


AGENCIES = [
    Agency(
        name=POLICE,
        contacts=[
            contact("PC Reyes", PRACTITIONER, "practitioner"),
            contact("DS Patel", POLICE_MANAGER, "manager"),
        ],
    ),
    Agency(
        name=CHILDRENS_SERVICES,
        contacts=[
            contact("Team manager Sam Jones", CS_MANAGER, "manager"),
            contact("Head of service Ruth Okafor", CS_EXECUTIVE, "executive"),
        ],
    ),
    Agency(
        name=HEALTH,
        kind="health",
        email_domains=["nhs.example.org"],
        contacts=[contact("Named nurse Lee Chen", HEALTH_MANAGER, "manager")],
    ),
    Agency(
        name=SCHOOL,
        contacts=[
            contact("DSL", SCHOOL_DSL, "practitioner"),
            contact("Head", SCHOOL_HEAD, "manager"),
            contact("Trust CEO", SCHOOL_CEO, "executive"),
        ],
    ),
    Agency(
        name=SOCIAL_CARE,
        contacts=[
            contact("Social worker", SOCIAL_WORKER, "practitioner"),
            contact("Team manager", SOCIAL_CARE_MANAGER, "manager"),
            contact("Director", SOCIAL_CARE_DIRECTOR, "executive"),
        ],
    ),
]
THE_PARTNERSHIP = Partnership(
    name=PARTNERSHIP,
    business_unit=[contact("Partnership business unit", BUSINESS_UNIT)],
    board=[contact("Independent chair", CHAIR)],
)


def directory(
    *agencies: str | Agency,
    people: bool = True,
    more: Mapping[str, Sequence[Contact]] | None = None,
    partnership: Partnership = THE_PARTNERSHIP,
) -> Directory:
    """The test partnership's directory with only `agencies` (names: the standard ones bring their
    people, others come with none; or agencies of a test's own). `people=False`: names alone, and
    nobody to tell; `more`: people who join an agency."""
    known = {agency.name: agency for agency in AGENCIES}
    joining = more or {}

    def listed(named: str | Agency) -> Agency:
        agency = named if isinstance(named, Agency) else known.get(named, Agency(name=named))
        if not people:
            agency = Agency(name=agency.name)
        return agency.model_copy(
            update={"contacts": [*agency.contacts, *joining.get(agency.name, ())]}
        )

    return Directory(
        partnership=partnership if people else Partnership(name=partnership.name),
        agencies=[listed(agency) for agency in agencies],
    )


# --- the files ----------------------------------------------------------------------------------


def toml(document: Mapping[str, Any]) -> str:
    """`document` as TOML: its tables (and tables of tables) and arrays of tables, each value in
    them written inline."""
    lines = [_pair(k, v) for k, v in document.items() if not _is_tables(v)]
    for key, value in document.items():
        if isinstance(value, list) and _is_tables(value):
            for item in value:
                lines += [f"[[{_key(key)}]]", *(_pair(k, v) for k, v in item.items())]
        elif isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values()):
            for name, table in value.items():
                lines += [f"[{_key(key)}.{_key(name)}]", *(_pair(k, v) for k, v in table.items())]
        elif isinstance(value, Mapping):
            lines += [f"[{_key(key)}]", *(_pair(k, v) for k, v in value.items())]
    return "\n".join(lines) + "\n"


def _is_tables(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, Mapping) for v in value)
    return isinstance(value, Mapping)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _pair(key: str, value: Any) -> str:
    return f"{_key(key)} = {_inline(value)}"


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{ " + ", ".join(_pair(k, v) for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return json.dumps(value)  # a JSON string, number or boolean is TOML's too


def policy_text(ladders: Mapping[str, Policy], nation: Nation | None = None) -> str:
    """The POLICY_FILE holding `ladders`, by name; `nation`: the file's, for every ladder."""
    written = {name: _written(policy) for name, policy in ladders.items()}
    return toml({**({"nation": nation} if nation else {}), "policies": written})


def _written(policy: Policy) -> dict[str, Any]:
    """A ladder as its file says it, with the Welsh names a dump leaves out (never sent to
    Temporal)."""
    written = policy.model_dump(mode="json", exclude_defaults=True)
    written |= {"title_cy": policy.title_cy} if policy.title_cy else {}
    for stage, fields in zip(policy.stages, written["stages"], strict=True):
        fields |= {"name_cy": stage.name_cy} if stage.name_cy else {}
    return written


def directory_text(directory: Directory) -> str:
    """`directory` as the DIRECTORY_FILE a worker or the API reads."""
    return toml(directory.model_dump(mode="json", exclude_defaults=True))


def policy_file(path: Path, ladders: Mapping[str, Policy], nation: Nation | None = None) -> Path:
    path.write_text(policy_text(ladders, nation), encoding="utf-8")
    return path


def directory_file(path: Path, directory: Directory) -> Path:
    path.write_text(directory_text(directory), encoding="utf-8")
    return path
