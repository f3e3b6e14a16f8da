"""The agency directory: who, at each agency and the partnership, is told what (DIRECTORY_FILE).

```toml
[partnership]
name = "Northshire Safeguarding Children Partnership"
business_unit = [{ name = "Partnership business unit", email = "scp@northshire.example" }]
board = [{ name = "Independent chair", email = "chair@northshire.example" }]

[[agencies]]
name = "Northshire Police"
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
from typing import Any, Self

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

from core.languages import Language
from core.text import refuse_control_characters
from workflows.models import NotificationInput
from workflows.policy import Role


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    role: Role | None = None
    email: EmailStr | None = None
    webhook: HttpUrl | None = None
    # The language the person reads the service in ("en" or "cy"): their mails, and their pages
    # when their browser has not chosen. Unset: not known (see activities/notifications.py).
    language: Language | None = None

    _one_line = field_validator("name")(refuse_control_characters)

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.email is None) == (self.webhook is None):
            raise ValueError("give exactly one of email or webhook")
        return self

    @property
    def address(self) -> str:
        return str(self.email or self.webhook)


class Agency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
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
        wanted = normalised(name)
        return next((a for a in self.agencies if normalised(a.name) == wanted), None)

    def closest(self, name: str, count: int = 3) -> list[str]:
        """The directory's names nearest to `name`, for a refusal to suggest."""
        names = {normalised(a.name): a.name for a in self.agencies}
        near = difflib.get_close_matches(normalised(name), names, n=count)
        return [names[n] for n in near]

    def is_partnership(self, name: str) -> bool:
        return normalised(name) == normalised(self.partnership.name)

    def _of_agency(self, name: str, role: Role) -> list[Contact]:
        agency = self.agency(name)
        return [c for c in agency.contacts if c.role == role] if agency else []

    def recipients(self, request: NotificationInput) -> list[Contact]:
        """The people told of one event, each address once."""
        found: list[Contact] = []
        if request.role == "board":
            found += self.partnership.board
        else:
            for agency in (request.raising_agency, request.receiving_agency):
                found += self._of_agency(agency, request.role)
        if request.tell_partnership:
            found += self.partnership.business_unit
        if request.tell_raiser:
            found += self._of_agency(request.raising_agency, "practitioner")
        unique: dict[str, Contact] = {}
        for contact in found:
            unique.setdefault(contact.address.casefold(), contact)
        return list(unique.values())


def normalised(name: str) -> str:
    """A name as compared: NFKC, case-folded, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


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


def load_directory(path: Path | None) -> Directory:
    if path is None:
        raise DirectoryFileError(
            "DIRECTORY_FILE is not set: name the agency directory (config/directory.example.toml"
            " shows the format)"
        )
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
