"""Loads the ladders: the built-in `standard` and `urgent`, then the operator's POLICY_FILE.

The file's top-level `nation` (england, wales, scotland, northern_ireland; default england) is
the partnership's: every ladder's clock uses its bank holidays, the built-in ones included,
unless a ladder sets its own `nation`; the oversight report counts working days by it.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from core.text import control_characters
from workflows.policy import BUILT_IN_POLICIES, Nation, Policy

NATIONS: TypeAdapter[Nation] = TypeAdapter(Nation)


class PolicyFileError(ValueError):
    """The policy file cannot be used; the message names the file, policy, stage and field."""


def _where(path: Path, name: str, loc: tuple[int | str, ...]) -> str:
    parts = [f"{path}: policy {name!r}"]
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "stages" and isinstance(rest[1], int):
        parts.append(f"stage {rest[1] + 1}")
        rest = rest[2:]
    if rest:
        parts.append(f"field {'.'.join(str(p) for p in rest)!r}")
    return ", ".join(parts)


def _document(path: Path) -> tuple[Nation, dict[str, Any]]:
    """The file's nation and its ladders as written."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyFileError(f"{path}: cannot read policy file: {exc}") from exc
    unknown = set(document) - {"policies", "nation", "retention"}  # retention: core/retention.py
    if unknown or not isinstance(document.get("policies"), dict):
        raise PolicyFileError(
            f"{path}: expected only [policies.NAME] tables (and a top-level `nation`),"
            f" found {sorted(unknown) or 'none'}"
        )
    try:
        nation = NATIONS.validate_python(document.get("nation", "england"))
    except ValidationError as exc:
        raise PolicyFileError(f"{path}: field 'nation': {exc.errors()[0]['msg']}") from exc
    return nation, document["policies"]


@dataclass(frozen=True)
class PolicyFile:
    """The policy file, read once: its ladders (the built-in ones included) and the
    partnership's `nation`, whose bank holidays the oversight report skips."""

    policies: dict[str, Policy]
    nation: Nation


def read_policy_file(path: Path | None) -> PolicyFile:
    if path is None:
        return PolicyFile(dict(BUILT_IN_POLICIES), "england")
    nation, ladders = _document(path)
    return PolicyFile(_ladders(path, nation, ladders), nation)


def load_policies(path: Path | None) -> dict[str, Policy]:
    return read_policy_file(path).policies


def _ladders(path: Path, nation: Nation, ladders: dict[str, Any]) -> dict[str, Policy]:
    policies = {
        name: policy.model_copy(update={"nation": nation})
        for name, policy in BUILT_IN_POLICIES.items()
    }
    for name, raw in ladders.items():
        try:
            written = {"nation": nation, **raw} if isinstance(raw, dict) else raw
            policies[name] = Policy.model_validate(written)
        except ValidationError as exc:
            problems = "; ".join(
                f"{_where(path, name, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()
            )
            raise PolicyFileError(problems) from exc
        _refuse_control_characters(path, name, policies[name])
    return policies


def _refuse_control_characters(path: Path, name: str, policy: Policy) -> None:
    """Titles and stage names reach mail subjects: a CR or LF there would break every message."""
    texts: list[tuple[tuple[int | str, ...], str]] = [(("title",), policy.title)]
    texts += [(("title_cy",), policy.title_cy)] if policy.title_cy else []
    texts += [(("stages", n, "name"), stage.name) for n, stage in enumerate(policy.stages)]
    texts += [
        (("stages", n, "name_cy"), stage.name_cy)
        for n, stage in enumerate(policy.stages)
        if stage.name_cy
    ]
    for loc, text in texts:
        found = control_characters(text)
        if found:
            raise PolicyFileError(
                f"{_where(path, name, loc)}: must not contain control characters"
                f" ({', '.join(found)})"
            )
