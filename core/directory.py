"""The directory file (DIRECTORY_FILE): a seed for the directory the service keeps in its
database. At start, what the file holds and the database lacks is added; nothing is removed or
changed (casework/directory_changes.py).

```toml
[partnership]
name = "Northshire Safeguarding Children Partnership"
business_unit = [{ name = "Partnership business unit", email = "scp@northshire.example" }]
board = [{ name = "Independent chair", email = "chair@northshire.example" }]

[[agencies]]
name = "Northshire Police"
kind = "police"                          # optional, "other" when left out
email_domains = ["police.example"]       # optional
contacts = [
  { name = "DS Patel", role = "manager", email = "patel@police.example" },
  { name = "Referrals hub", role = "practitioner", webhook = "https://hub.police.example/hook" },
]
```
Each contact has exactly one of `email` or `webhook`. Names reach mail headers and bodies, so
none may hold control characters (CR, LF, tabs...).
"""

import difflib
import tomllib
import unicodedata
from pathlib import Path
from typing import Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from core.languages import ReaderLanguage
from core.text import refuse_control_characters
from workflows.policy import Role


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    role: Role | None = None
    email: EmailStr | None = None
    webhook: HttpUrl | None = None
    # The language the person reads the service in ("en" or "cy"): their mails and pages; "both"
    # for a shared mailbox, whose mails come in both languages. Unset: "en", or as they are.
    language: ReaderLanguage | None = None

    _one_line = field_validator("name")(refuse_control_characters)

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.email is None) == (self.webhook is None):
            raise ValueError("give exactly one of email or webhook")
        return self

    @property
    def address(self) -> str:
        return str(self.email or self.webhook)


AgencyKind = Literal[
    "local_authority",
    "police",
    "health",
    "school",
    "gp_practice",
    "early_years",
    "voluntary",
    "partnership",
    "other",
]
AGENCY_KINDS: tuple[AgencyKind, ...] = get_args(AgencyKind)


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    # What the seed gives an agency the database lacks; the partnership's is its own.
    kind: AgencyKind = "other"
    email_domains: list[str] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)

    _one_line = field_validator("name")(refuse_control_characters)


class Partnership(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Safeguarding Children Partnership"
    business_unit: list[Contact] = Field(default_factory=list)
    board: list[Contact] = Field(default_factory=list)

    _one_line = field_validator("name")(refuse_control_characters)


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partnership: Partnership = Field(default_factory=Partnership)
    agencies: list[Agency] = Field(default_factory=list)

    def agency(self, name: str) -> Agency | None:
        """The agency `name` means, ignoring case, spacing and Unicode compatibility forms."""
        found = matching_name([a.name for a in self.agencies], name)
        return next((a for a in self.agencies if a.name == found), None)

    def closest(self, name: str, count: int = 3) -> list[str]:
        """The directory's names nearest to `name`, for a refusal to suggest."""
        return closest_names([a.name for a in self.agencies], name, count)

    def is_partnership(self, name: str) -> bool:
        return normalised(name) == normalised(self.partnership.name)


def normalised(name: str) -> str:
    """A name as compared: NFKC, case-folded, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def matching_name(names: list[str], name: str) -> str | None:
    """The one of `names` that `name` means (compared normalised), if any."""
    wanted = normalised(name)
    return next((n for n in names if normalised(n) == wanted), None)


def closest_names(names: list[str], name: str, count: int = 3) -> list[str]:
    """The names nearest to `name`, for a refusal to suggest ("did you mean")."""
    by_key = {normalised(n): n for n in names}
    return [by_key[n] for n in difflib.get_close_matches(normalised(name), by_key, n=count)]


class DirectoryFileError(ValueError):
    pass


def _where(document: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """`agencies.2.contacts.0.name` with the agency named, as an operator finds it in the file."""
    path = ".".join(str(p) for p in loc)
    agencies = document.get("agencies")
    if len(loc) < 2 or loc[0] != "agencies" or not isinstance(loc[1], int):
        return path
    if not isinstance(agencies, list) or loc[1] >= len(agencies):
        return path
    entry = agencies[loc[1]]
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(name, str):
        return f"agency {name!r}, field {path}"
    return path


def seed_file(path: Path | None) -> Directory | None:
    """The seed DIRECTORY_FILE names, or None when it is unset (the database has it all)."""
    return None if path is None else load_directory(path)


def load_directory(path: Path) -> Directory:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot read directory file: {exc}") from exc
    try:
        return Directory.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(document, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()
        )
        raise DirectoryFileError(f"{path}: {problems}") from exc
