"""A page printed to PDF by headless Chromium (CHROMIUM_PATH), as a browser's print would."""

import asyncio
import tempfile
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)
PRINT_SECONDS = 60


async def pdf_of(html: str, chromium: Path | None) -> bytes | None:
    """The PDF, or None when Chromium is not configured or cannot print it (the caller goes on
    without one). Nothing of the page reaches the log."""
    if chromium is None:
        return None
    with tempfile.TemporaryDirectory(prefix="print-") as work:
        page, pdf = Path(work) / "page.html", Path(work) / "page.pdf"
        await asyncio.to_thread(page.write_text, html, encoding="utf-8")
        try:
            process = await _print(chromium, work, page, pdf)
        except OSError:  # no Chromium there
            log.warning("pdf print unavailable", chromium=str(chromium))
            return None
        try:
            await asyncio.wait_for(process.wait(), PRINT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            log.warning("pdf print timed out", seconds=PRINT_SECONDS)
            return None
        try:
            printed = await asyncio.to_thread(pdf.read_bytes)
        except OSError:
            printed = b""
        if process.returncode != 0 or not printed:
            log.warning("pdf print failed", returncode=process.returncode)
            return None
        return printed


async def _print(chromium: Path, work: str, page: Path, pdf: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        str(chromium),
        "--headless",
        "--no-sandbox",  # run as a service user inside its container, no setuid helper
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--user-data-dir={work}/profile",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
