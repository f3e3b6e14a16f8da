"""The partnership's retention rule: how long a closed escalation's case details are kept.

From the policy file's `[retention]` table (docs/operations.md), for the partnership and, in
`[retention.ladders.NAME]`, for one ladder; either

- `after_close = "P35Y"`: an ISO 8601 duration after the escalation closed, or
- `until_age = 25`: to the child's 25th birthday when the date of birth is known (`after_close`
  beside it for a child whose date of birth is not).

No rule: nothing is erased. RETENTION_AFTER_CLOSE (an ISO 8601 duration) overrides every rule,
for tests and small deployments.
"""

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.policy_files import PolicyFileError
from core.settings import Settings


class RetentionRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_close: timedelta | None = Field(default=None, gt=timedelta(0))
    until_age: int | None = Field(default=None, ge=1, le=120)

    def ends(self, closed_at: datetime, date_of_birth: date | None) -> datetime | None:
        """When the record's retention ends; None: kept (no rule applies to it)."""
        if self.until_age is not None and date_of_birth is not None:
            birthday = _birthday(date_of_birth, self.until_age)
            return max(closed_at, datetime.combine(birthday, time(), UTC))
        if self.after_close is not None:
            return closed_at + self.after_close
        return None

    def describe(self) -> str:
        parts = []
        if self.until_age is not None:
            parts.append(f"to the child's {self.until_age}th birthday when known")
        if self.after_close is not None:
            parts.append(f"{_duration(self.after_close)} after closure")
        return ", else ".join(parts) or "kept"


class _RetentionTable(RetentionRule):
    ladders: dict[str, RetentionRule] = Field(default_factory=dict)


@dataclass(frozen=True)
class Retention:
    partnership: RetentionRule
    ladders: dict[str, RetentionRule]

    def rule(self, policy: str) -> RetentionRule:
        return self.ladders.get(policy, self.partnership)


def load_retention(settings: Settings) -> Retention:
    if settings.retention_after_close is not None:
        return Retention(RetentionRule(after_close=settings.retention_after_close), {})
    path = settings.policy_file
    if path is None:
        return Retention(RetentionRule(), {})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("retention", {})
        table = _RetentionTable.model_validate(raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyFileError(f"{path}: cannot read policy file: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{path}: retention, field {'.'.join(str(p) for p in err['loc'])!r}: {err['msg']}"
            for err in exc.errors()
        )
        raise PolicyFileError(problems) from None
    return Retention(
        RetentionRule(after_close=table.after_close, until_age=table.until_age), table.ladders
    )


def _birthday(born: date, age: int) -> date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February in a year without one
        return date(born.year + age, 3, 1)


def _duration(span: timedelta) -> str:
    if span.days >= 365 and span.days % 365 == 0:
        return f"{span.days // 365} years"
    if span.days:
        return f"{span.days} days"
    return f"{int(span.total_seconds())} seconds"
