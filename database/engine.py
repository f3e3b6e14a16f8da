"""Database engines and migrations: one URL setting, SQLite or PostgreSQL."""

from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import CaseKey

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def driver_url(url: str, *, asynchronous: bool) -> str:
    """The URL with the driver this service uses: aiosqlite/psycopg (async) or the sync ones."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(
            drivername="sqlite+aiosqlite" if asynchronous else "sqlite"
        ).render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)")


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database or "")
    return None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; the busy timeout queues writers.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Each record engine's case key store, when the keys live apart (CASE_KEY_DATABASE_URL).
_KEY_STORES: dict[AsyncEngine, AsyncEngine] = {}


def create_engine(url: str, key_store_url: str | None = None) -> AsyncEngine:
    """The record database's engine; with `key_store_url` (another database), sessions made by
    `session_factory` keep the `case_key` table there, apart from the data it protects."""
    engine = _engine(url)
    if key_store_url and key_store_url != url:
        _create_key_table(key_store_url)
        _KEY_STORES[engine] = _engine(key_store_url)
    return engine


def _create_key_table(url: str) -> None:
    """The key store holds one table, created on first use (no migrations of its own)."""
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    sync = sqlalchemy.create_engine(driver_url(url, asynchronous=False), hide_parameters=True)
    try:
        CaseKey.__table__.create(sync, checkfirst=True)  # type: ignore[attr-defined]
    finally:
        sync.dispose()


def _engine(url: str) -> AsyncEngine:
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: an error's message names the statement, never the values (child data).
    engine = create_async_engine(
        driver_url(url, asynchronous=True), pool_pre_ping=True, hide_parameters=True
    )
    if file is not None:
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine` (and its key store for `case_key`, when apart); objects stay
    readable after commit (answers are built from them)."""
    key_store = _KEY_STORES.get(engine)
    binds = {CaseKey: key_store} if key_store is not None else None
    return async_sessionmaker(engine, binds=binds, class_=AsyncSession, expire_on_commit=False)


def keys_apart(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether these sessions keep the case keys in a database of their own."""
    return bool(sessions.kw.get("binds"))


async def dispose(engine: AsyncEngine) -> None:
    """The engine's connections closed, its key store's too."""
    key_store = _KEY_STORES.pop(engine, None)
    if key_store is not None:
        await key_store.dispose()
    await engine.dispose()


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", driver_url(url, asynchronous=False).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic(url), "head")


class SchemaError(RuntimeError):
    """The database cannot be used by this code; the message is one line for the operator."""


UPGRADE = "run `alembic upgrade head` on DATABASE_URL"


def check_schema(url: str) -> None:
    """Raises SchemaError unless the database's schema is at this code's migration head."""
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        raise SchemaError(f"the database has no schema: {UPGRADE}")
    heads = set(ScriptDirectory.from_config(_alembic(url)).get_heads())
    engine = sqlalchemy.create_engine(driver_url(url, asynchronous=False), hide_parameters=True)
    try:
        with engine.connect() as connection:
            current: set[str] = set()
            if sqlalchemy.inspect(connection).has_table("alembic_version"):
                versions = connection.execute(
                    sqlalchemy.text("SELECT version_num FROM alembic_version")
                )
                current = {row[0] for row in versions}
    except sqlalchemy.exc.SQLAlchemyError as exc:
        # The class only: a driver's message can quote the URL with its password.
        cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
        raise SchemaError(f"cannot reach the database ({type(cause).__name__})") from exc
    finally:
        engine.dispose()
    if not current:
        raise SchemaError(f"the database has no schema: {UPGRADE}")
    if current != heads:
        raise SchemaError(
            f"the database schema is at {', '.join(sorted(current))}, this code needs"
            f" {', '.join(sorted(heads))}: {UPGRADE}"
        )
