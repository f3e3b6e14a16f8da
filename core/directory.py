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
Each contact has exactly one of `email` or `webhook`.
"""

import tomllib
from pathlib import Path
from typing import Self

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    model_validator,
)

from workflows.models import NotificationInput
from workflows.policy import Role


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    role: Role | None = None
    email: EmailStr | None = None
    webhook: HttpUrl | None = None

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


class Partnership(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Safeguarding Children Partnership"
    business_unit: list[Contact] = Field(default_factory=list)
    board: list[Contact] = Field(default_factory=list)


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partnership: Partnership = Field(default_factory=Partnership)
    agencies: list[Agency] = Field(default_factory=list)

    def agency(self, name: str) -> Agency | None:
        return next((a for a in self.agencies if a.name.casefold() == name.casefold()), None)

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


class DirectoryFileError(ValueError):
    pass


def load_directory(path: Path | None) -> Directory:
    if path is None:
        return Directory()
    try:
        return Directory.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot read directory file: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise DirectoryFileError(f"{path}: {problems}") from exc
