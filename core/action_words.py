"""The action table's page and mail words (workflows/actions.py) and the refusals' sentences
(workflows/rules.py), English data that floor cannot mark, for `make translations`: babel.cfg's
`action_table` extractor yields them, so the catalogues hold every one, and the pages and mails
show them through gettext."""

from collections.abc import Iterator
from typing import IO, Any

from workflows.actions import ACTIONS
from workflows.rules import A_ROLE, REFUSALS


def shown_words() -> list[str]:
    """Every word of the table a person reads: on the pages, the timeline and the mails."""
    words: list[str] = []
    for action in ACTIONS.values():
        words += [action.timeline, action.button, action.question, action.intro]
        words += [action.consequence, action.done, action.verb]
        words += [action.headline] if action.headline else []
        for field in action.fields:
            words += [field.label, field.problem] + ([field.hint] if field.hint else [])
    words += [*REFUSALS.values(), *A_ROLE.values()]
    return list(dict.fromkeys(words))


def extract(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """A pybabel extraction method: the table's words, whatever file it is pointed at."""
    for word in shown_words():
        yield 1, None, word, []
