"""The FastAPI application: one Temporal client and one database engine per process."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import docs, problems
from api.body_limit import BodyLimit
from api.ratelimit import FailedAuthLimiter, FailedAuthMiddleware
from api.routes import (
    audit_exports,
    codec_server,
    data_subjects,
    directory_api,
    escalations,
    health,
    legal_holds,
    metrics,
    reports,
)
from casework.directory_seed import seed
from casework.searching import TermHasher
from casework.worker_alerts import WorkerAlerts
from core.directory import seed_file
from core.languages import welsh_names
from core.policy_files import read_policy_file
from core.settings import Settings, get_settings
from core.temporal import connect
from database.engine import create_engine, dispose, session_factory
from web import pages
from web.link_requests import LinkRequests
from web.routes.directory_import import MAX_IMPORT_BYTES

DESCRIPTION = """
Multi-agency escalation of professional disagreements about a child's safety: raise an
escalation, act on it at each stage of the partnership's ladder, and read its record.

Every request except `/healthz`, `/livez`, `/metrics` and the docs sends
`Authorization: Bearer <API key>`.
Errors are RFC 9457 problem details (`application/problem+json`). An address that keeps sending
bad keys is answered 429 with `Retry-After` for a while.

`/codec` is the Temporal Web UI's and CLI's remote codec: partnership (board) keys, the pages'
session of a partnership person, or (when configured) the UI's identity-provider access token.

People use the pages at `/` (sign in at `/sign-in`); `/escalations/{id}` is the escalation's page
for a browser and this API's JSON for everything else. `/reports` is the oversight report's page
for people; `/reports/escalations` is its JSON and CSV here.

`/people` and `/agencies` are the partnership's directory for systems (partnership `board` keys):
the same rules and record as its pages at `/directory`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        policy_file = read_policy_file(settings.policy_file)
        app.state.policies = policy_file.policies
        app.state.policy_names = welsh_names(policy_file.policies.values())  # for the pages
        app.state.nation = policy_file.nation
        app.state.term_hasher = TermHasher.of(settings)
        app.state.engine = create_engine(settings.database_url, settings.case_key_database_url)
        app.state.sessions = session_factory(app.state.engine)
        # The directory lives in the database; the file only adds what it lacks.
        await seed(app.state.sessions, seed_file(settings.directory_file))
        app.state.temporal = await connect(settings, lazy=True)
        alerts = WorkerAlerts(app.state.engine, settings, app.state.nation)
        app.state.sign_in_links = LinkRequests(app.state.sessions, settings)
        tasks = [
            asyncio.create_task(alerts.watch()),
            asyncio.create_task(app.state.sign_in_links.serve()),
        ]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await dispose(app.state.engine)

    app = FastAPI(
        title="Safeguarding escalations",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by api.docs
        redoc_url=None,
    )
    # Identity providers' signing keys by JWKS address, shared by sign-in and the codec.
    app.state.signing_keys = {}
    problems.install(app)
    docs.install(app)
    # Outermost last: CORS answers the UI's preflight before the limiter sees the request, and
    # puts its headers on the codec's 413s.
    larger = {
        f"{codec_server.router.prefix}/": codec_server.MAX_BODY_BYTES,
        "/directory/import": MAX_IMPORT_BYTES,  # a CSV of the partnership's people
    }
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, larger=larger)
    limiter = FailedAuthLimiter(settings.auth_failure_limit, settings.auth_failure_window_seconds)
    app.add_middleware(FailedAuthMiddleware, limiter=limiter)
    app.add_middleware(codec_server.CodecCors, origin=settings.codec_cors_origin)
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Before the API's routes: browsers get /escalations/{id} as a page.
    pages.install(app, settings)
    app.include_router(escalations.router)
    app.include_router(legal_holds.router)
    app.include_router(codec_server.router)
    app.include_router(reports.router)
    app.include_router(directory_api.router)
    app.include_router(data_subjects.router)
    app.include_router(audit_exports.router)
    return app
