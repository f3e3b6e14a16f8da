"""structlog set-up: JSON lines in production, readable console lines in `make run`.

Log lines name escalations by reference; they never carry child data. Tracebacks, in either
format and from structlog or the standard library (uvicorn, Temporal, SQLAlchemy), show the
frames and the exception, never a frame's local variables: those hold the rows and requests.
"""

import logging
import sys

import structlog
from structlog.tracebacks import ExceptionDictTransformer

# aiosqlite logs every statement with its parameters at DEBUG. (SQLAlchemy keeps its own loggers
# at WARNING unless told otherwise, and its engines hide parameters: database/engine.py.)
QUIET_AT_DEBUG = ("aiosqlite",)


def _renderer(fmt: str) -> list[structlog.typing.Processor]:
    if fmt == "console":
        # structlog's default console traceback (rich's) prints every frame's locals.
        return [structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)]
    tracebacks = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    return [tracebacks, structlog.processors.JSONRenderer()]


class DropQueryStrings(logging.Filter):
    """uvicorn's access lines keep the path, never the query: `/subject-access?child_reference=`
    carries a child's reference."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderer(fmt),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that write query parameters (child data) in their DEBUG lines stay above DEBUG.
    for name in QUIET_AT_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())
