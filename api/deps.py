"""Request dependencies: settings, database, Temporal client, the caller's key."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.keys import find_key
from api.problems import ProblemError
from casework.searching import TermHasher
from core.settings import Settings
from database.tables import ApiKey
from workflows.policy import Nation, Policy


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def _policies(request: Request) -> dict[str, Policy]:
    policies: dict[str, Policy] = request.app.state.policies
    return policies


def _nation(request: Request) -> Nation:
    nation: Nation = request.app.state.nation
    return nation


def _term_hasher(request: Request) -> TermHasher:
    hasher: TermHasher = request.app.state.term_hasher
    return hasher


async def _db(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as db:
        yield db


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[AsyncEngine, Depends(_engine)]
SessionDep = Annotated[AsyncSession, Depends(_db)]
TemporalDep = Annotated[Client, Depends(_temporal)]
PoliciesDep = Annotated[dict[str, Policy], Depends(_policies)]
NationDep = Annotated[Nation, Depends(_nation)]


TermHasherDep = Annotated[TermHasher, Depends(_term_hasher)]

bearer = HTTPBearer(auto_error=False, description="An API key from `python -m api create-key`.")


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def caller_key(request: Request, db: SessionDep, credentials: BearerDep) -> ApiKey:
    bearer = credentials is not None and credentials.scheme.lower() == "bearer"
    token = credentials.credentials if credentials and bearer else ""
    # No key is looked up like a wrong one: the same work, so the answer's timing tells nothing.
    key = await find_key(db, token)
    if key is None:
        detail = (
            "The API key is not valid or has been revoked."
            if token
            else "Send an API key: Authorization: Bearer <token>."
        )
        raise ProblemError(401, detail, headers={"WWW-Authenticate": "Bearer"})
    request.state.caller = key
    return key


CallerDep = Annotated[ApiKey, Depends(caller_key)]
