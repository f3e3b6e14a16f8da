"""`python -m api`: serve the API, or manage keys and check the audit trail.

python -m api                       serve on API_HOST:API_PORT
python -m api create-key --agency "Northshire Police" --role practitioner --name "PC Reyes"
python -m api list-keys
python -m api revoke-key 3
python -m api verify-audit          exit 1 if any audit chain (an escalation's or the directory's)
                                    is broken or disagrees with its record (its read model, its
                                    sealed case details, the directory's rows)
python -m api export-public-key     print the public half of the partnership's export signing key
python -m api verify-export FILE --public-key KEY
                                    exit 1 if an inspector's audit export was altered, cut short or
                                    not signed with KEY (a PEM file); needs no database

Every command needs the database at the current schema (`alembic upgrade head`); serving and
create-key first add what DIRECTORY_FILE (if set) holds and the directory in the database lacks.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import get_args

import uvicorn
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.keys import create_key, list_keys, revoke_key
from casework.directory_seed import seed
from core.directory import DirectoryFileError, closest_names, matching_name, seed_file
from core.export_signing import SigningKeyError, load_public_key, public_pem, signing_key
from core.logs import configure_logging
from core.policy_files import PolicyFileError, load_policies
from core.settings import Settings, get_settings
from database.audit_chain import chain_breaks, record_drift, timeline
from database.audit_export import export_problems
from database.case_seal import case_drift
from database.directory_people import agency_names, partnership_agency
from database.directory_trail import directory_problems
from database.engine import (
    SchemaError,
    check_schema,
    create_engine,
    dispose,
    session_factory,
)
from database.tables import PENDING, AuditEvent, CaseKey, Escalation
from web.identity_providers import IdentityProviderError, load_providers
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
    commands.add_parser("export-public-key", help="print the export signing key's public half")
    verify = commands.add_parser("verify-export", help="check an inspector's audit export")
    verify.add_argument("file", type=Path)
    verify.add_argument("--public-key", required=True, type=Path, help="the partnership's PEM")
    return parser


async def _directory_agency(db: AsyncSession, agency: str, role: Role) -> str:
    """The directory's spelling of the key's agency (the partnership's for board keys)."""
    if role == "board":
        partnership = await partnership_agency(db)
        if partnership is None or matching_name([partnership.name], agency) is None:
            named = repr(partnership.name) if partnership else "(none in the directory)"
            raise SystemExit(f"create-key: board keys are for the partnership, {named}")
        return partnership.name
    names = await agency_names(db)
    found = matching_name(names, agency)
    if found is None:
        near = closest_names(names, agency)
        hint = f"; closest: {', '.join(near)}" if near else ""
        raise SystemExit(f"create-key: no agency {agency!r} in the directory{hint}")
    return found


async def _create_key(settings: Settings, name: str, agency: str, role: Role) -> None:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        await seed(sessions, seed_file(settings.directory_file))
        async with sessions() as db:
            agency = await _directory_agency(db, agency, role)
            key, token = await create_key(db, name=name, agency=agency, role=role)
    finally:
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


def _problems(found: list[str]) -> str:
    return f"{len(found)} problems" if found else "no problems"


async def _verify_audit(settings: Settings) -> int:
    """Every trail, also one whose record was deleted, and every record against its trail."""
    engine = create_engine(settings.database_url, settings.case_key_database_url)
    problems: list[str] = []
    async with session_factory(engine)() as db:
        rows = {row.id: row for row in (await db.exec(select(Escalation))).all()}
        keys = {key.escalation_id: key for key in (await db.exec(select(CaseKey))).all()}
        trails = set((await db.exec(select(AuditEvent.escalation_id).distinct())).all())
        ids = sorted(trails | {i for i, row in rows.items() if row.status != PENDING})
        for escalation_id in ids:
            events = await timeline(db, escalation_id)
            found = chain_breaks(events)
            row = rows.get(escalation_id)
            if row is None:
                found.append("audit trail without its record (the escalation row is gone)")
            else:
                found += record_drift(row, events)
                found += case_drift(row, keys.get(escalation_id), events)
            problems += [f"{escalation_id}: {problem}" for problem in found]
        subjects, directory = await directory_problems(db)
    await dispose(engine)
    for problem in problems + directory:
        print(problem)
    print(f"Checked {len(ids)} escalations: {_problems(problems)}.")
    if subjects:
        print(f"Checked {subjects} directory entries: {_problems(directory)}.")
    return 1 if problems or directory else 0


def _verify_export(file: Path, public_key: Path) -> int:
    """For the inspector: the file and the public key are all it needs."""
    try:
        key = load_public_key(public_key.read_bytes())
        problems = export_problems(json.loads(file.read_bytes()), key)
    except (OSError, ValueError) as exc:  # ExportFormatError and SigningKeyError among them
        print(f"verify-export: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    print(f"{file}: {'intact and signed' if not problems else f'{len(problems)} problems'}.")
    return 1 if problems else 0


def _ready(settings: Settings, *, serving: bool) -> None:
    """One line and exit 2 when the configuration or the database schema cannot be used."""
    try:
        if serving:
            load_policies(settings.policy_file)
            seed_file(settings.directory_file)
            for provider in load_providers(settings):
                provider.secret()
        check_schema(settings.database_url)
    except (PolicyFileError, DirectoryFileError, IdentityProviderError, SchemaError) as exc:
        print(f"api: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "verify-export":
        return _verify_export(args.file, args.public_key)
    settings = get_settings()
    if args.command == "export-public-key":
        try:
            print(public_pem(signing_key(settings.export_signing_key_file)), end="")
        except SigningKeyError as exc:
            print(f"export-public-key: {exc}", file=sys.stderr)
            return 2
        return 0
    _ready(settings, serving=args.command in (None, "serve"))
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
        try:
            asyncio.run(_create_key(settings, args.name, args.agency, args.role))
        except DirectoryFileError as exc:
            print(f"create-key: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "list-keys":
        asyncio.run(_list_keys(settings))
        return 0
    if args.command == "revoke-key":
        return asyncio.run(_revoke_key(settings, args.key_id))
    return asyncio.run(_verify_audit(settings))
