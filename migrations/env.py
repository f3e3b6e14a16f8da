"""Alembic environment: the SQLModel tables, the URL from DATABASE_URL unless one is given."""

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import database.tables  # noqa: F401  (registers the tables)
from core.settings import get_settings
from database.engine import driver_url

config = context.config
if not config.get_main_option("sqlalchemy.url"):
    url = driver_url(get_settings().database_url, asynchronous=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=SQLModel.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
