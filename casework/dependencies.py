"""What a request of the API or the pages is given, as typed `Annotated` dependencies: the
settings, policies, partnership's nation, database and Temporal client the app opened at start
(api/app.py's lifespan). The one place that reads them from the app: the API's and the pages'
routes declare what they need with the `…Dep` types; code outside a route (an exception
handler, a form check) calls the `…_of(request)` functions behind them."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from casework.searching import TermHasher
from core.settings import Settings
from workflows.policy import Nation, Policy


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def policies_of(request: Request) -> dict[str, Policy]:
    policies: dict[str, Policy] = request.app.state.policies
    return policies


def nation_of(request: Request) -> Nation:
    nation: Nation = request.app.state.nation
    return nation


def engine_of(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def temporal_of(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def term_hasher_of(request: Request) -> TermHasher:
    hasher: TermHasher = request.app.state.term_hasher
    return hasher


@asynccontextmanager
async def database_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session of the app's database, for code outside a route (an exception handler)."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as db:
        yield db


async def _db(request: Request) -> AsyncIterator[AsyncSession]:
    async with database_session(request) as db:
        yield db


SettingsDep = Annotated[Settings, Depends(settings_of)]
PoliciesDep = Annotated[dict[str, Policy], Depends(policies_of)]
NationDep = Annotated[Nation, Depends(nation_of)]
EngineDep = Annotated[AsyncEngine, Depends(engine_of)]
SessionDep = Annotated[AsyncSession, Depends(_db)]
TemporalDep = Annotated[Client, Depends(temporal_of)]
TermHasherDep = Annotated[TermHasher, Depends(term_hasher_of)]
