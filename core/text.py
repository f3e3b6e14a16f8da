"""Text that reaches mail headers and bodies: one line, no control characters."""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

# Line and paragraph separators break lines as surely as CR and LF.

_LINE_BREAKING = {"Cc", "Zl", "Zp"}


def N_(message: str) -> str:
    """Marks the service's own words for the translation catalogues (core/translations) where
    they are defined; the pages and mails translate them where they show them."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """N_ for words said by a number: "%(n)s working day", "%(n)s working days"."""
    return singular, plural


@dataclass(frozen=True)
class Said:
    """A catalogue message (N_) with its values, said once for both audiences: `str()` is the
    English a machine format keeps (API problem details, CSV), `core.languages.said` the page's
    language. A value that is itself `Said` (a role, a verb) is translated with it; others
    (names, numbers, what people wrote) are shown as they are."""

    message: str
    values: Mapping[str, "Said | str | int"] = field(default_factory=dict)
    # Words said by a number (Nn_): the plural, and the value whose number chooses the form.
    plural: str | None = None
    count: str = "n"

    @classmethod
    def counted(
        cls, forms: tuple[str, str], values: Mapping[str, "Said | str | int"], count: str = "n"
    ) -> "Said":
        singular, plural = forms
        return cls(singular, values, plural=plural, count=count)

    def number(self) -> int:
        return int(str(self.values[self.count]))

    def __str__(self) -> str:
        message = self.message
        if self.plural is not None and self.number() != 1:
            message = self.plural
        if not self.values:
            return message
        return message % {name: str(value) for name, value in self.values.items()}


def control_characters(text: str) -> list[str]:
    """The control characters in `text`, as `\\x0d`-style escapes, each once."""
    found = [ch for ch in text if unicodedata.category(ch) in _LINE_BREAKING]
    return list(
        dict.fromkeys(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}" for ch in found)
    )


def refuse_control_characters(value: str) -> str:
    """A field validator for names that reach mail headers or bodies."""
    found = control_characters(value)
    if found:
        raise ValueError(f"must not contain control characters ({', '.join(found)})")
    return value


def reference_key(reference: str) -> str:
    """A reference as it is searched for: "np 2291" and "NP-2291 " differ, "np-2291" does not."""
    return "".join(reference.split()).casefold()
