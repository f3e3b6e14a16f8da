"""Loads the ladders: the built-in `standard` and `urgent`, then the operator's POLICY_FILE."""

import tomllib
from pathlib import Path

from pydantic import ValidationError

from core.text import control_characters
from workflows.policy import BUILT_IN_POLICIES, Policy


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


def load_policies(path: Path | None) -> dict[str, Policy]:
    policies = dict(BUILT_IN_POLICIES)
    if path is None:
        return policies
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyFileError(f"{path}: cannot read policy file: {exc}") from exc
    unknown = set(document) - {"policies", "retention"}  # retention: core/retention.py
    if unknown or not isinstance(document.get("policies"), dict):
        raise PolicyFileError(
            f"{path}: expected only [policies.NAME] tables, found {sorted(unknown) or 'none'}"
        )
    for name, raw in document["policies"].items():
        try:
            policies[name] = Policy.model_validate(raw)
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
    texts += [(("stages", n, "name"), stage.name) for n, stage in enumerate(policy.stages)]
    for loc, text in texts:
        found = control_characters(text)
        if found:
            raise PolicyFileError(
                f"{_where(path, name, loc)}: must not contain control characters"
                f" ({', '.join(found)})"
            )
