"""What the embedded stack runs and where: ports, paths and the settings its children get."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.common import SearchAttributeKey

from core.settings import Settings
from launcher.supervisor import StackError
from workflows.search_attributes import ALL_KEYS

PROJECT = Path(__file__).resolve().parent.parent
TEMPORAL_CLI = Path(sys.prefix) / "bin" / "temporal"


def _http_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on host:port."""
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    return f"http://{reachable}:{port}"


@dataclass(frozen=True)
class Stack:
    """Where everything runs, and the settings the worker and the API get."""

    settings: Settings
    temporal_host: str
    temporal_port: int
    # Settings the launcher chose (the user set none of them), as environment variables.
    chosen: dict[str, str]

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def api_url(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def local_api_url(self) -> str:
        return _http_url(self.settings.api_host, self.settings.api_port)

    @property
    def ui_url(self) -> str:
        return _http_url(self.temporal_host, self.settings.temporal_ui_port)

    @property
    def temporal_log(self) -> Path:
        return self.data_dir / "temporal.log"

    @property
    def demo_keys_file(self) -> Path:
        return self.data_dir / "demo-keys.json"

    def child_env(self) -> dict[str, str]:
        return {**os.environ, **self.chosen}


def plan(settings: Settings) -> Stack:
    """The stack for these settings: what the user did not set, the embedded stack chooses."""
    data_dir = settings.data_dir.resolve()
    host, colon, port = settings.temporal_address.rpartition(":")
    if not colon or not port.isdigit():
        raise StackError(
            f"TEMPORAL_ADDRESS {settings.temporal_address!r} must be host:port for the dev server"
        )
    defaults: dict[str, Any] = {
        "database_url": f"sqlite:///{data_dir / 'escalations.db'}",
        "payload_key_file": data_dir / "payload-keys.json",
        "mail_log_file": data_dir / "mail.log",
        "export_signing_key_file": data_dir / "export-signing-key.pem",
        "directory_file": PROJECT / "config" / "directory.example.toml",
        "policy_file": PROJECT / "config" / "policies.example.toml",
        "log_format": "console",
        "public_url": _http_url(settings.api_host, settings.api_port),
        "codec_cors_origin": _http_url(host, settings.temporal_ui_port),
    }
    chosen = {
        name: value for name, value in defaults.items() if name not in settings.model_fields_set
    }
    return Stack(
        settings=settings.model_copy(update={**chosen, "data_dir": data_dir}),
        temporal_host=host.strip("[]"),
        temporal_port=int(port),
        chosen={name.upper(): str(value) for name, value in chosen.items()},
    )


def _search_attribute_type(key: SearchAttributeKey[Any]) -> str:
    """KEYWORD_LIST -> KeywordList, as `--search-attribute` spells the type."""
    return "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))


def sqlite_pragma_args(pragmas: str) -> list[str]:
    """TEMPORAL_SQLITE_PRAGMAS ("journal_mode=wal,synchronous=normal") as dev server options."""
    args = []
    for pragma in filter(None, (part.strip() for part in pragmas.split(","))):
        args += ["--sqlite-pragma", pragma]
    return args


def temporal_command(stack: Stack) -> list[str]:
    settings = stack.settings
    command = [
        str(TEMPORAL_CLI),
        "server",
        "start-dev",
        "--ip",
        stack.temporal_host,
        "--port",
        str(stack.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(stack.data_dir / "temporal.db"),
        # The Web UI decrypts payloads through the API (docs/security.md).
        "--ui-codec-endpoint",
        f"{stack.api_url}/codec",
        # Nothing leaves the machine: no version check, no UI news feed.
        "--dynamic-config-value",
        "frontend.enableServerVersionCheck=false",
        "--ui-disable-news-fetch",
    ]
    for key in ALL_KEYS:
        command += [
            "--search-attribute",
            f"{key.name}={_search_attribute_type(key)}",
        ]
    command += sqlite_pragma_args(settings.temporal_sqlite_pragmas)
    if settings.temporal_namespace != "default":
        command += ["--namespace", settings.temporal_namespace]
    return command
