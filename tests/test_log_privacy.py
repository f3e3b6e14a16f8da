"""No child data in any log, in any format: errors forced with distinctive child data (Temporal
down, the database down, a constraint violation, an exception whose frame holds the case) and
every log format searched for it. Tracebacks are kept, without their frames' local variables."""

import logging
from pathlib import Path

import httpx
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from database.engine import session_factory
from database.worker_health import beat
from tests.api_stack import serve
from tests.conftest import isolated_settings, new_key
from tests.ladders import SCHOOL, SOCIAL_CARE, directory, directory_file
from tests.ports import listening_socket, port_of
from tests.test_no_child_data import CHILD, leaks, production_logging

FORMATS = ["console", "json"]


def _fail_with_the_case(case: dict[str, str]) -> None:
    summary = case["summary"]
    raise RuntimeError(f"could not store a summary of {len(summary)} characters")


@pytest.mark.parametrize("fmt", FORMATS)
def test_tracebacks_show_frames_never_locals(fmt: str, capfd: pytest.CaptureFixture[str]) -> None:
    with production_logging("DEBUG", fmt):
        try:
            _fail_with_the_case(dict(CHILD))
        except RuntimeError:
            structlog.get_logger("api").exception("raise failed")
            # What uvicorn writes for an exception no handler caught.
            logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=True)
    logs = capfd.readouterr().err
    assert logs.count("_fail_with_the_case") >= 2, "both tracebacks name the frame"
    assert "could not store a summary" in logs
    assert not leaks(f"{fmt} logs", logs)


def _refuse_the_insert(dialect: str) -> str:
    """DDL making the database refuse this child's row with an integrity error."""
    if dialect == "sqlite":
        return (
            "CREATE TRIGGER refuse_case BEFORE INSERT ON escalation"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    return "ALTER TABLE escalation ADD CONSTRAINT refuse_case CHECK (false) NOT VALID"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_forced_errors_log_no_child_data(
    fmt: str,
    database_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    held_port: int,
) -> None:
    _, token = await new_key(engine, name="Ms Adeyemi", agency=SCHOOL, role="practitioner")
    async with session_factory(engine)() as db:  # a worker seen: the raise goes on to Temporal
        await beat(db, "a worker", isolated_settings().task_queue)
    headers = {"Authorization": f"Bearer {token}"}
    case = {"receiving_agency": SOCIAL_CARE, **CHILD}
    names = directory_file(
        tmp_path / "directory.toml", directory(SCHOOL, SOCIAL_CARE, people=False)
    )
    nobody_listens = f"127.0.0.1:{held_port}"
    up = {"database_url": database_url, "directory_file": names}
    down = {"database_url": f"postgresql://postgres@{nobody_listens}/gone"}
    answers = []
    with production_logging("DEBUG", fmt):
        for overrides in (up, down):
            sock = listening_socket()
            port = port_of(sock)
            settings = isolated_settings(
                temporal_address=nobody_listens,  # Temporal down
                payload_key_file=tmp_path / "keys.json",
                **{"directory_file": names, **overrides},
            )
            server, serving = await serve(create_app(settings), sock)
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    answers.append(await http.post("/escalations", json=case, headers=headers))
                    if overrides is up:  # and then the database refuses the row
                        async with engine.begin() as connection:
                            await connection.execute(text(_refuse_the_insert(engine.name)))
                        answers.append(await http.post("/escalations", json=case, headers=headers))
            finally:
                server.should_exit = True
                await serving
    logs = capfd.readouterr()
    assert [a.status_code for a in answers] == [503, 503, 503], [a.text for a in answers]
    assert "database unavailable" in logs.err and "IntegrityError" in logs.err
    assert not leaks(f"{fmt} logs", logs.out + logs.err)
