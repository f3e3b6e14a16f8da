"""Sign-in's answer time for known and unknown addresses (python -m bench.sign_in_timing).

The API in-process over ASGI on a fresh SQLite database, a directory with one known person:
alternating requests for the known and an unknown address, `--rounds` each, after a warm-up;
prints the median and range of each and whether the ranges overlap (docs/performance.md).
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from api.app import create_app
from core.settings import Settings
from database.engine import migrate

KNOWN, UNKNOWN = "known@agency.example.org", "unknown@elsewhere.example.org"
DIRECTORY = f"""
[partnership]
name = "Bench partnership"
[[agencies]]
name = "Bench agency"
contacts = [{{ name = "Known person", role = "manager", email = "{KNOWN}" }}]
"""


async def measure(rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "directory.toml").write_text(DIRECTORY)
        url = f"sqlite:///{base / 'bench.db'}"
        migrate(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            directory_file=base / "directory.toml",
            payload_key_file=base / "keys.json",
            sign_in_limit_per_address=10 * rounds,
            sign_in_limit_per_client=100 * rounds,
        )
        app = create_app(settings)
        times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for n in range(rounds + 2):
                    for email in (KNOWN, UNKNOWN):
                        started = time.perf_counter()
                        answer = await http.post(
                            "/sign-in", data={"email": email}, headers={"Origin": "http://bench"}
                        )
                        took = (time.perf_counter() - started) * 1000
                        assert answer.status_code == 200, answer.text
                        if n >= 2:  # the first rounds warm the app up
                            times[email].append(took)
                        await app.state.sign_in_links.queue.join()  # its work, off the clock
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=27)
    times = asyncio.run(measure(parser.parse_args().rounds))
    for email, taken in times.items():
        print(
            f"{'known' if email == KNOWN else 'unknown'}: median {statistics.median(taken):.2f} ms,"
            f" {min(taken):.2f} to {max(taken):.2f} ms over {len(taken)}"
        )
    known, unknown = times[KNOWN], times[UNKNOWN]
    overlap = min(max(known), max(unknown)) >= max(min(known), min(unknown))
    print(f"ranges overlap: {'yes' if overlap else 'no'}")


if __name__ == "__main__":
    main()
