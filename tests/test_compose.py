"""The production stack (docker-compose.yml, Dockerfile, deploy/), checked without a Docker engine.

Nothing here starts a container. The files are parsed and held against the code they run: the
Settings fields, the entry points, the workflow's search attributes. The compose file is checked
against the Compose Specification's JSON schema, and by `docker-compose config` where installed.
"""

import base64
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from configparser import ConfigParser
from importlib import metadata, resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url
from temporalio.api.enums.v1 import IndexedValueType

from core.settings import Settings
from workflows.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"

# What an operator must supply; dummy values stand in for the real secrets.
SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "PAYLOAD_KEYS": "test:" + base64.b64encode(bytes(32)).decode(),
}
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|KEYS?$")
# Named like secrets, but switches: the UI's "pass the user's access token to the codec".
NOT_SECRETS = {"TEMPORAL_CODEC_PASS_ACCESS_TOKEN"}
REQUIRED_FROM_ENV = re.compile(r"\$\{(?P<name>\w+):\?[^}]*\}")
# The password of a URL whose parts may be ${...} references: scheme://user:password@host
URL_PASSWORD = re.compile(r"://(?:\$\{[^}]*\}|[^:@/])*:(?P<password>\$\{[^}]*\}|[^@/]*)@")
APP_SERVICES = ("api", "worker", "migrate")
SETTINGS_ENV = {name.upper(): field for name, field in Settings.model_fields.items()}

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


class MissingVariable(LookupError):
    pass


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR:?error}."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"] or match["bare"], match["op"] or "", match["arg"]
        current = env.get(name)
        unset = current is None or (current == "" and op.startswith(":"))
        if unset and op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        if unset and op.endswith("-"):
            return arg
        return current or ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def stack(raw: dict[str, Any]) -> dict[str, Any]:
    """The file as compose sees it with only the required secrets set."""
    document: dict[str, Any] = interpolate(raw, SECRETS)
    return document


@pytest.fixture(scope="module")
def services(stack: dict[str, Any]) -> dict[str, Any]:
    return stack["services"]


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def script_of(service: Mapping[str, Any]) -> Path:
    """The file in this repository that a one-off job runs, through its bind mount."""
    (inside,) = [part for part in service["command"] if part.startswith("/")]
    for volume in service["volumes"]:
        source, target = volume.split(":")[:2]
        if inside.startswith(target + "/"):
            return ROOT / source / inside.removeprefix(target + "/")
    raise AssertionError(f"{inside} is not in a mounted folder")


def test_compose_file_follows_the_compose_specification(stack: dict[str, Any]) -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(stack)]
    assert errors == []


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_accepts_the_file_and_refuses_missing_secrets(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    referenced = {m["name"] or m["bare"] for m in _VARIABLE.finditer(COMPOSE_FILE.read_text())}
    clean = {k: v for k, v in os.environ.items() if k not in referenced and "COMPOSE" not in k}
    empty_env_file = tmp_path / "empty.env"  # so a developer's .env cannot stand in for secrets
    empty_env_file.write_text("")
    config = [*command, "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), "config", "-q"]

    accepted = subprocess.run(
        config, cwd=ROOT, env=clean | SECRETS, capture_output=True, text=True, check=False
    )
    assert accepted.returncode == 0, accepted.stderr
    refused = subprocess.run(
        config, cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "POSTGRES_PASSWORD" in refused.stderr or "PAYLOAD_KEYS" in refused.stderr


def test_secrets_come_only_from_the_environment(raw: dict[str, Any]) -> None:
    for missing in SECRETS:
        with pytest.raises(MissingVariable, match=missing):
            interpolate(raw, {k: v for k, v in SECRETS.items() if k != missing})

    for name, service in raw["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and key not in NOT_SECRETS:
                assert REQUIRED_FROM_ENV.fullmatch(value), f"{name}: {key} must be ${{VAR:?...}}"
            credentials = URL_PASSWORD.search(value)
            if credentials:
                assert REQUIRED_FROM_ENV.fullmatch(credentials["password"]), f"{name}: {key}"

    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if re.match(r"\w+=", line)
    )
    assert set(SECRETS) <= set(example)
    assert {key: example[key] for key in example if SECRET_NAME.search(key)} == dict.fromkeys(
        SECRETS, ""
    )
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def _settings_from(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_is_real_settings(
    name: str, services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(services[name])
    assert set(env) <= set(SETTINGS_ENV), "not Settings fields: core/settings.py"
    required = {key for key, field in SETTINGS_ENV.items() if field.is_required()}
    assert required <= set(env)

    settings = _settings_from(env, monkeypatch)
    database = make_url(settings.database_url)
    assert database.get_backend_name() == "postgresql"
    assert database.host in services
    assert database.database == environment(services["postgres"])["POSTGRES_DB"]
    assert database.password == SECRETS["POSTGRES_PASSWORD"]
    if name == "migrate":
        return
    # Without PAYLOAD_KEYS each container would make its own key file and not read the others'.
    assert settings.payload_keys is not None
    assert settings.payload_keys.get_secret_value() == SECRETS["PAYLOAD_KEYS"]
    host, port = settings.temporal_address.rsplit(":", 1)
    assert host in services
    assert services[host]["image"].startswith("temporalio/server:")
    assert port == "7233"


def test_workers_mail_through_mailpit(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings_from(environment(services["worker"]), monkeypatch)
    assert settings.smtp_host == "mailpit"
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    assert settings.smtp_port == 1025


def test_api_listens_where_it_is_published_and_checked(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = services["api"]
    settings = _settings_from(environment(api), monkeypatch)
    assert settings.api_host == "0.0.0.0"  # inside its container
    assert [p.rsplit(":", 1)[1] for p in api["ports"]] == [str(settings.api_port)]
    probe = " ".join(api["healthcheck"]["test"])
    # Liveness, not readiness: a worker outage must not get the API restarted.
    assert f"http://127.0.0.1:{settings.api_port}/livez" in probe


def test_one_namespace_queue_database_and_key_set_for_everyone(services: dict[str, Any]) -> None:
    api, worker = environment(services["api"]), environment(services["worker"])
    for shared in ("TEMPORAL_NAMESPACE", "TASK_QUEUE", "DATABASE_URL", "PAYLOAD_KEYS"):
        assert api[shared] == worker[shared]
    assert environment(services["migrate"])["DATABASE_URL"] == api["DATABASE_URL"]
    assert environment(services["temporal-namespace"])["NAMESPACE"] == api["TEMPORAL_NAMESPACE"]
    ui = environment(services["temporal-ui"])
    assert ui["TEMPORAL_DEFAULT_NAMESPACE"] == api["TEMPORAL_NAMESPACE"]


def test_temporal_ui_decodes_payloads_through_the_api(services: dict[str, Any]) -> None:
    api, ui = environment(services["api"]), environment(services["temporal-ui"])
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == api["PUBLIC_URL"] + "/codec"
    origin = urlsplit(api["CODEC_CORS_ORIGIN"])
    assert origin.path == ""
    published = [p.split(":")[-2] for p in services["temporal-ui"]["ports"]]
    assert published == [str(origin.port)]


def test_commands_are_real_entry_points(services: dict[str, Any]) -> None:
    assert services["api"]["command"] == ["python", "-m", "api"]
    assert importlib.util.find_spec("api.__main__") is not None
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert importlib.util.find_spec("worker.__main__") is not None

    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert "alembic" in {e.name for e in metadata.entry_points(group="console_scripts")}
    ini = ConfigParser()
    ini.read(ROOT / "alembic.ini")
    script_location = ini.get("alembic", "script_location", raw=True)
    assert (Path(script_location.replace("%(here)s", str(ROOT))) / "env.py").is_file()
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["api"]["image"]


def test_third_party_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag != "latest", f"{name}: {service['image']}"
        if "build" not in service:
            assert re.search(r"\d+\.\d+", tag), f"{name}: pin a version, not {tag!r}"
    *build_stages, base = _instructions("FROM")
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base)
    # The pages' assets are built in a pinned Node stage; only its output is copied.
    assert [stage.split()[0] for stage in build_stages] == ["node:20-bookworm-slim"]


def _depends(service: Mapping[str, Any]) -> dict[str, str]:
    return {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}


def test_start_up_order(services: dict[str, Any]) -> None:
    healthy, done = "service_healthy", "service_completed_successfully"
    assert _depends(services["temporal-schema"]) == {"postgres": healthy}
    assert _depends(services["temporal"]) == {"temporal-schema": done}
    assert _depends(services["temporal-namespace"]) == {"temporal": healthy}
    assert _depends(services["temporal-ui"]) == {"temporal": healthy}
    assert _depends(services["migrate"]) == {"postgres": healthy}
    for name in ("api", "worker"):
        assert _depends(services[name]) == {"migrate": done, "temporal-namespace": done}

    for name, service in services.items():
        for dependency, condition in _depends(service).items():
            if condition == healthy:
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
            if condition == done:  # a job restarted after success would never count as done
                restart = str(services[dependency].get("restart", "no"))
                assert restart == "no" or restart.startswith("on-failure"), dependency
    for name in ("postgres", "temporal", "api"):
        assert services[name]["healthcheck"]["test"], name


def test_workers_scale(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker  # a fixed name allows one container only
    assert "ports" not in worker
    assert int(worker["deploy"]["replicas"]) >= 1


def test_setup_jobs_run_the_scripts_in_deploy(services: dict[str, Any]) -> None:
    schema = script_of(services["temporal-schema"])
    namespace = script_of(services["temporal-namespace"])
    for script in (schema, namespace):
        assert script.is_file()
        subprocess.run(["sh", "-n", str(script)], check=True)  # parses as POSIX sh
    words = shlex.split(schema.read_text(), comments=True)
    assert {"temporal-sql-tool", "create", "setup-schema", "update-schema"} <= set(words)
    assert {"temporal", "temporal_visibility"} <= set(words)


def test_namespace_job_creates_the_workflow_search_attributes(services: dict[str, Any]) -> None:
    script = script_of(services["temporal-namespace"]).read_text()
    created = dict(re.findall(r"--name\s+(\w+)\s+--type\s+(\w+)", script))

    def cli_type(value: int) -> str:  # the CLI's names: Keyword, Int, Datetime, Bool, ...
        name = IndexedValueType.Name(IndexedValueType.ValueType(value)).removeprefix(
            "INDEXED_VALUE_TYPE_"
        )
        return name.replace("_", "").lower()

    assert {name: kind.lower() for name, kind in created.items()} == {
        key.name: cli_type(key.indexed_value_type) for key in ALL_KEYS
    }


def test_temporal_dynamic_config_is_mounted_and_enables_updates(services: dict[str, Any]) -> None:
    temporal = services["temporal"]
    path = environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    (volume,) = temporal["volumes"]
    source, target = volume.split(":")[:2]
    inside = Path("/etc/temporal") / path  # relative to the server image's working directory
    config_file = ROOT / source / inside.relative_to(target)
    config = yaml.safe_load(config_file.read_text())
    for key, entries in config.items():
        assert all(set(entry) == {"value", "constraints"} for entry in entries), key
    assert config["frontend.enableUpdateWorkflowExecution"][0]["value"] is True  # the `act` update


def _instructions(keyword: str) -> list[str]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word.upper() == keyword:
            found.append(rest.strip())
    return found


def test_dockerfile_runs_the_worker_as_a_non_root_user() -> None:
    assert json.loads(_instructions("CMD")[-1]) == ["python", "-m", "worker"]
    assert _instructions("ENTRYPOINT") == []  # compose's `command` replaces CMD whole
    user = _instructions("USER")[-1]
    assert user not in ("root", "0") and not user.startswith("0:")
    assert any(re.search(rf"useradd\b.*\b{user}$", run) for run in _instructions("RUN"))
    assert _instructions("WORKDIR")[-1] == "/app"  # where alembic.ini lands for the migrate job
    installs = [run for run in _instructions("RUN") if "pip install" in run]
    assert any(re.search(r"pip install --no-deps \.(\s|$)", run) for run in installs)
    assert "[dev]" not in DOCKERFILE.read_text()


def _dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated, pattern = line.startswith("!"), line.lstrip("!").strip("/")
        parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
        wildcards = {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
        regex = "".join(wildcards.get(part, re.escape(part)) for part in parts)
        rules.append((negated, re.compile(regex)))
    return rules


def sent_to_build(path: str) -> bool:
    """Whether `docker build` sends this file, by .dockerignore's rules (last match wins)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negated, regex in _dockerignore():
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negated
    return not ignored


def _package_files() -> Iterator[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        for file in (ROOT / pattern.rstrip("*")).rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                yield file.relative_to(ROOT).as_posix()


def test_build_context_has_the_code_and_no_secrets_or_local_state() -> None:
    needed = ["pyproject.toml", "alembic.ini", *_package_files()]
    assert "migrations/env.py" in needed
    assert [path for path in needed if not sent_to_build(path)] == []
    for private in (".env", ".venv/bin/python", ".data/payload-keys.json", ".git/config"):
        assert not sent_to_build(private), private
    assert not sent_to_build("worker/__pycache__/main.cpython-311.pyc")


def test_prometheus_scrapes_the_api_and_every_worker_and_loads_the_alert_rules(
    services: dict[str, Any],
) -> None:
    prometheus = services["prometheus"]
    assert all(port.startswith("127.0.0.1:") for port in prometheus["ports"])
    source, target = prometheus["volumes"][0].split(":")[:2]
    folder = ROOT / source
    config = yaml.safe_load((folder / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api_port = environment(services["api"]).get("API_PORT", "8000")
    assert jobs["api"]["static_configs"][0]["targets"] == [f"api:{api_port}"]
    assert jobs["api"]["metrics_path"] == "/metrics"
    worker_env = environment(services["worker"])
    assert jobs["worker"]["dns_sd_configs"][0]["names"] == ["worker"]
    assert str(jobs["worker"]["dns_sd_configs"][0]["port"]) == worker_env["WORKER_METRICS_PORT"]
    assert worker_env["WORKER_METRICS_HOST"] == "0.0.0.0"

    (rules_file,) = config["rule_files"]
    rules_path = folder / Path(rules_file).relative_to(target)
    rules = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    assert "worker_last_seen_seconds" in alerts["EscalationWorkerNotSeen"]
    for metric in (
        "escalation_time_limit_lag_bucket",
        "notifications_failed",
        "escalations_overdue",
    ):
        assert any(metric in expr for expr in alerts.values()), metric
