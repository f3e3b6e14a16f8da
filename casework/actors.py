"""Who acts: an API key or a signed-in person, each with a name, an agency and a role."""

from typing import Protocol, cast

from workflows.policy import Role


class Actor(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def agency(self) -> str: ...

    @property
    def role(self) -> str: ...


def label(actor: Actor) -> str:
    """How the record names the actor: "PC Reyes (Northshire Police)"."""
    return f"{actor.name} ({actor.agency})"


def role_of(actor: Actor) -> Role:
    # Stored from the Role literal (keys' role column is a plain string).
    return cast(Role, actor.role)
