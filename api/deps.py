"""The API caller's key, from its bearer token (the rest: casework/dependencies.py)."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.keys import find_key
from api.problems import ProblemError
from casework.dependencies import SessionDep
from database.tables import ApiKey

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
