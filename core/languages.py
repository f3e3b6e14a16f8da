"""The service's languages, English and Welsh (Cymraeg): gettext catalogues and Babel formats.

The service's own words go through `gettext` (`_` in templates); free text stays as people wrote
it, and machine formats (API problem details, CSV headers and codes, webhook fields) stay
English. The catalogues are `core/translations/<language>/LC_MESSAGES/messages.po`, kept with
`make translations` (pybabel extract, update, compile); the service compiles them in memory at
start, so no .mo file is built or committed. The language is per task (a context variable): a
page's request, or one mail being written.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from core.calendar import LONDON
from core.text import N_, Nn_, Said
from workflows.policy import Nation, Policy, Span

__all__ = ["N_", "Said"]

Language = Literal["en", "cy"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT: Language = "en"
# What the directory may hold as a person's language: one of the service's, or "both" for a
# reader whose language is not one person's (a shared mailbox): they get both languages.
ReaderLanguage = Literal["en", "cy", "both"]
READER_LANGUAGES: tuple[ReaderLanguage, ...] = get_args(ReaderLanguage)
# Between the languages of a bilingual message.
LANGUAGE_BREAK = "\n" + "-" * 40 + "\n\n"
CATALOGUES = Path(__file__).resolve().parent / "translations"

_current: ContextVar[Language] = ContextVar("language", default=DEFAULT)
# The policy file's own names in Welsh (a ladder's `title_cy`, a stage's `name_cy`), by the
# English name: the catalogue of this task's policies (a page's app, a worker's notifier).
_policy_names: ContextVar[Mapping[str, str] | None] = ContextVar("policy_names", default=None)


@cache
def translations(language: Language) -> Translations:
    """The language's catalogue, compiled from its .po file once per process."""
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def chosen_language(value: str | None) -> Language | None:
    """`value` if it is a language of the service ("en", "cy"), else None (not known)."""
    return next((language for language in LANGUAGES if language == value), None)


def current_language() -> Language:
    return _current.get()


def use_language(language: Language) -> None:
    """Sets the language of what this request (or mail) says from here on."""
    _current.set(language)


def welsh_names(policies: Iterable[Policy]) -> dict[str, str]:
    """The ladders' titles and stage names the policy file gives in Welsh, by their English."""
    names: dict[str, str] = {}
    for policy in policies:
        if policy.title_cy:
            names.setdefault(policy.title, policy.title_cy)
        names.update(
            (s.name, s.name_cy) for s in policy.stages if s.name_cy and s.name not in names
        )
    return names


def use_policy_names(names: Mapping[str, str]) -> None:
    """The policy file's Welsh names, for what this task (a request, a notification) shows."""
    _policy_names.set(names)


def gettext(message: str) -> str:
    # Never the empty message: gettext("") is the catalogue's header.
    return translations(_current.get()).ugettext(message) if message else message


def policy_name(name: str) -> str:
    """A ladder's title or a stage's name in this task's language: the policy file's own Welsh
    (`title_cy`, `name_cy`: the partnership wrote it for this name), else the catalogue's (the
    built-in ladders'), else as written. Only where such a name is shown: the service's own
    words never take a ladder's Welsh."""
    named = (_policy_names.get() or {}).get(name) if _current.get() == "cy" else None
    return named or gettext(name)


def said(words: Said | str) -> str:
    """`words` in the current language (a plain string is shown as it is: a name, free text)."""
    if isinstance(words, str):
        return words
    if words.plural is not None:
        text = ngettext(words.message, words.plural, words.number())
    else:
        text = gettext(words.message)
    if not words.values:
        return text
    values = words.values.items()
    return text % {
        name: said(value) if isinstance(value, Said) else value for name, value in values
    }


def span_said(span: Span) -> Said:
    """A time limit said in words: "5 working days", "24 hours", "90 minutes"."""
    if span.working_days is not None:
        return Said.counted(
            Nn_("%(n)s working day", "%(n)s working days"), {"n": span.working_days}
        )
    assert span.duration is not None
    seconds = int(span.duration.total_seconds())
    if seconds % 3600 == 0:
        return Said.counted(Nn_("%(n)s hour", "%(n)s hours"), {"n": seconds // 3600})
    return Said.counted(Nn_("%(n)s minute", "%(n)s minutes"), {"n": seconds // 60})


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)


def long_date(day: date) -> str:
    """ "30 November 2026", "30 Tachwedd 2026"."""
    return format_date(day, "d MMMM y", locale=_current.get())


def moment_text(moment: datetime) -> str:
    """A time as people read it, in London time: "Mon 30 Nov 2026 17:00", "Llun 30 Tach 2026
    17:00"."""
    return format_datetime(moment, "EEE d MMM y HH:mm", tzinfo=LONDON, locale=_current.get())


def month_and_year(day: date) -> str:
    """ "November 2026", "Tachwedd 2026"."""
    return format_date(day, "MMMM y", locale=_current.get())


def short_month(day: date) -> str:
    """ "Nov", "Tach": a chart's axis."""
    return format_date(day, "MMM", locale=_current.get())


def number_text(value: float) -> str:
    return format_decimal(value, locale=_current.get())


# The built-in ladders' words (workflows/policy.py cannot import this floor): pages and mails
# show a ladder's title and stage names through gettext, so these read in Welsh; a policy
# file's own names are shown as written.
BUILT_IN_LADDER_WORDS = (
    N_("Standard three-step escalation"),
    N_("Urgent track (significant risk): 24 hours a stage"),
    N_("Line managers"),
    N_("Senior and executive managers"),
    N_("Safeguarding Children Partnership"),
)


@contextmanager
def in_language(language: Language) -> Iterator[None]:
    """What is written in the block is in `language` (a mail), then the task's language again."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def reader_languages(language: str | None, nation: Nation) -> tuple[Language, ...]:
    """The languages a message to this reader is written in, in order: the reader's own when
    known; else (a shared mailbox, a webhook) both, Welsh first, where the partnership is in
    Wales (Welsh Language Standards), English elsewhere."""
    known = chosen_language(language)
    if known:
        return (known,)
    return ("cy", "en") if nation == "wales" else ("en",)


def written_in(
    languages: tuple[Language, ...], write: Callable[[], tuple[str, str]]
) -> dict[Language, tuple[str, str]]:
    """`write`'s subject and body in each of `languages`, in order."""
    written: dict[Language, tuple[str, str]] = {}
    for language in languages:
        with in_language(language):
            written[language] = write()
    return written


def joined(written: dict[Language, tuple[str, str]]) -> tuple[str, str]:
    """One message of texts in one or more languages: the subjects joined by " / ", the bodies
    one after the other, a line of dashes between."""
    return (
        " / ".join(subject for subject, _ in written.values()),
        LANGUAGE_BREAK.join(body for _, body in written.values()),
    )
