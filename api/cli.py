"""`python -m api`: serve the API, or manage keys and check the audit trail.

python -m api                       serve on API_HOST:API_PORT
python -m api create-key --agency "Northshire Police" --role practitioner --name "PC Reyes"
python -m api list-keys
python -m api revoke-key 3
python -m api verify-audit          exit 1 if any escalation's audit chain is broken
"""

import argparse
import asyncio
import sys
from typing import get_args

import uvicorn
from sqlmodel import select

from api.app import create_app
from api.keys import create_key, list_keys, revoke_key
from core.logs import configure_logging
from core.settings import Settings, get_settings
from database.audit_chain import chain_breaks, timeline
from database.engine import create_engine, session_factory
from database.tables import Escalation
from workflows.policy import Role


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the HTTP API (the default)")
    create = commands.add_parser("create-key", help="create an API key; the token is the last line")
    create.add_argument("--agency", required=True)
    create.add_argument("--role", required=True, choices=get_args(Role))
    create.add_argument("--name", required=True, help="the person or system holding the key")
    commands.add_parser("list-keys", help="list keys (never their tokens)")
    revoke = commands.add_parser("revoke-key", help="revoke a key by its id")
    revoke.add_argument("key_id", type=int)
    commands.add_parser("verify-audit", help="check every escalation's audit hash chain")
    return parser


async def _create_key(settings: Settings, name: str, agency: str, role: Role) -> None:
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as db:
        key, token = await create_key(db, name=name, agency=agency, role=role)
    await engine.dispose()
    print(f"Key {key.id} for {key.name} ({key.agency}, {key.role}). Keep this token secret:")
    print(token)


async def _list_keys(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as db:
        for key in await list_keys(db):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id}\t{key.name}\t{key.agency}\t{key.role}\t{state}")
    await engine.dispose()


async def _revoke_key(settings: Settings, key_id: int) -> int:
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as db:
        key = await revoke_key(db, key_id)
    await engine.dispose()
    if key is None:
        print(f"No key {key_id}.", file=sys.stderr)
        return 1
    print(f"Key {key.id} ({key.name}, {key.agency}) revoked.")
    return 0


async def _verify_audit(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    broken = 0
    async with session_factory(engine)() as db:
        ids = (await db.exec(select(Escalation.id).order_by(Escalation.id))).all()
        for escalation_id in ids:
            for problem in chain_breaks(await timeline(db, escalation_id)):
                broken += 1
                print(f"{escalation_id}: {problem}")
    await engine.dispose()
    print(f"Checked {len(ids)} escalations: {'no breaks' if not broken else f'{broken} breaks'}.")
    return 1 if broken else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command in (None, "serve"):
        configure_logging(settings.log_format, settings.log_level)
        uvicorn.run(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            proxy_headers=True,
        )
        return 0
    if args.command == "create-key":
        asyncio.run(_create_key(settings, args.name, args.agency, args.role))
        return 0
    if args.command == "list-keys":
        asyncio.run(_list_keys(settings))
        return 0
    if args.command == "revoke-key":
        return asyncio.run(_revoke_key(settings, args.key_id))
    return asyncio.run(_verify_audit(settings))
