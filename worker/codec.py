"""Placeholder until the payload codec lands (issue 5)."""

from temporalio.converter import PayloadCodec

from worker.settings import Settings


def codec_from_settings(settings: Settings) -> PayloadCodec | None:
    return None
