"""docker-compose.yml, the Dockerfile and the nginx template, checked without Docker.

The Compose file is validated against the Compose specification's JSON schema (vendored in
deploy/compose-spec.json), then held to the topology's rules; the nginx template is rendered
and checked by Debian's ``nginx -t``; Django's ``check --deploy`` runs with exactly the
environment the compose file gives the image.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from deploy import nginx
from smile_site import content_security
from tests.conftest import PROJECT_ROOT
from tests.integration.stack import nginx_command, prepare_nginx, required_nginx

PYTHON_SERVICES = ("migrate", "web1", "web2", "web3", "worker", "worker-gpu", "beat")
WEB_SERVICES = ("web1", "web2", "web3")
# The one policy (smile_site/content_security.py): nginx's template says it word for word.
CSP = content_security.header_value()
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, innermost first
# (defaults may nest); $$ is a literal dollar.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^${}]*))?\}")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((PROJECT_ROOT / "deploy" / "compose-spec.json").read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def documented_variables() -> set[str]:
    text = (PROJECT_ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation, enough for this file: defaults, required values, $$."""

    def value(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if operator in {":-", "-"}:
            unset = current is None or (operator == ":-" and current == "")
            return argument if unset else str(current)
        if operator in {":?", "?"}:
            assert current, f"compose would refuse to start: {argument}"
            return current
        return current or ""

    while True:
        substituted = INTERPOLATION.sub(value, text)
        if substituted == text:
            return substituted.replace("$$", "$")
        text = substituted


def interpolate_values(node: Any, env: dict[str, str]) -> Any:
    """Interpolate every string of the parsed file, as Compose does (after YAML, so "" stays "")."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolate_values(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_values(value, env) for value in node]
    return node


def as_command(value: Any) -> list[str]:
    assert isinstance(value, list), "commands are exec-form lists"
    return [str(part) for part in value]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


# --- The Compose specification ------------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_a_wrong_compose_file(
    compose: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["web1"]["comand"] = ["daphne"]
    broken["services"]["redis"]["healthcheck"]["interval"] = 5
    messages = {error.message for error in validator.iter_errors(broken)}
    assert messages == {"5 is not of type 'string'", "'comand' does not match any of the regexes: '^x-'"}


# --- Topology -----------------------------------------------------------------------------


def test_the_services_are_the_topology(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "nginx", "prometheus", *PYTHON_SERVICES}


def test_only_nginx_publishes_ports_and_everything_else_stays_on_the_internal_network(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = {name for name, service in services.items() if "ports" in service}
    assert published == {"nginx", "prometheus"}
    assert [str(port).split(":")[-1] for port in services["nginx"]["ports"]] == ["80", "443"]
    # Prometheus (profile `monitoring`) on the host's loopback only: never reachable from outside.
    assert [str(port).split(":")[0] for port in services["prometheus"]["ports"]] == ["127.0.0.1"]
    assert all(service.get("network_mode") is None for service in services.values())
    for name, service in services.items():
        if name == "nginx":
            expected = ["internal", "edge"]
        elif name in {"web1", "web2", "web3"}:
            expected = ["internal", "outbound"]  # password-reset mail goes out through SMTP
        elif name == "prometheus":
            expected = ["internal", "monitoring"]  # its loopback port needs a network that is not internal
        else:
            expected = ["internal"]
        assert service["networks"] == expected, name
    assert compose["networks"]["internal"] == {"internal": True}


def test_one_image_serves_every_python_service_with_its_own_command(compose: dict[str, Any]) -> None:
    services = compose["services"]
    cpu = {name for name in PYTHON_SERVICES if name != "worker-gpu"}
    assert {services[name]["image"] for name in cpu} == {"smile:latest"}
    assert {services[name]["build"]["target"] for name in cpu} == {"app"}
    assert services["worker-gpu"]["build"] == {"context": ".", "target": "app", "args": {"TENSORFLOW": "gpu"}}
    assert services["worker-gpu"]["image"] == "smile:gpu"
    commands = {name: as_command(services[name]["command"]) for name in PYTHON_SERVICES}
    assert commands["web1"] == commands["web2"] == commands["web3"]
    assert commands["worker"] == commands["worker-gpu"]
    assert commands["web1"][0] == "daphne"
    assert commands["worker"][:5] == ["celery", "-A", "smile_site", "--quiet", "worker"]
    assert commands["beat"][:5] == ["celery", "-A", "smile_site", "--quiet", "beat"]
    assert "migrate --noinput" in commands["migrate"][-1]
    assert "collectstatic --noinput" in commands["migrate"][-1]


def test_daphne_trusts_nginx_headers_and_limits_websocket_messages_above_the_frame_limit(
    compose: dict[str, Any],
) -> None:
    from django.conf import settings

    command = as_command(compose["services"]["web1"]["command"])
    assert "--proxy-headers" in command
    message_limit = int(option(command, "--websocket-max-message-size"))
    frame_limit = int(option(command, "--websocket-max-frame-size"))
    # Above the app's frame limit (the app answers frame_too_large), but bounded.
    assert settings.SMILE_MAX_FRAME_BYTES < message_limit <= 4 * settings.SMILE_MAX_FRAME_BYTES
    assert frame_limit == message_limit
    ping_interval = float(option(command, "--ping-interval"))
    template = nginx.TEMPLATE.read_text()
    websocket = template[template.index("location /ws/") :]
    read_timeout = float(re.search(r"proxy_read_timeout (\d+)s;", websocket).group(1))  # type: ignore[union-attr]
    assert read_timeout > 2 * ping_interval, "an idle but healthy socket outlives nginx's read timeout"


def test_the_worker_takes_inference_and_housekeeping_and_the_gpu_profile_reserves_nvidia_devices(
    compose: dict[str, Any],
) -> None:
    from django.conf import settings

    worker = compose["services"]["worker"]
    queues = option(as_command(worker["command"]), "-Q").split(",")
    assert set(queues) == {"inference", settings.CELERY_TASK_DEFAULT_QUEUE}
    assert settings.CELERY_TASK_ROUTES["inference.stream_frames"]["queue"] in queues
    assert "profiles" not in worker
    gpu = compose["services"]["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    ]


def test_beat_schedules_the_clean_up_tasks() -> None:
    from django.conf import settings

    from smile_site.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {"accounts.purge_expired_pairings", "accounts.clear_expired_sessions"}
    assert scheduled <= set(app.tasks)


def test_redis_never_evicts_broker_keys_and_writes_nothing_to_disk(compose: dict[str, Any]) -> None:
    command = as_command(compose["services"]["redis"]["command"])
    assert option(command, "--maxmemory-policy") == "noeviction"
    # Frames pass through the broker's queues: no append-only file, no snapshot.
    assert option(command, "--appendonly") == "no"
    assert option(command, "--save") == ""


def test_services_start_in_order_on_health_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert condition == {"condition": expected}, (name, dependency)
            assert dependency == "migrate" or "healthcheck" in services[dependency], dependency
    assert set(services["nginx"]["depends_on"]) == set(WEB_SERVICES)
    for name in ("web1", "worker", "beat"):
        assert "migrate" in services[name]["depends_on"], name
    for name in ("postgres", "redis", *WEB_SERVICES, "worker"):
        assert services[name]["healthcheck"]["test"], name


def test_nginx_mounts_the_site_certificate_and_never_the_ca_key(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["nginx"]["volumes"]
    assert "./certs/site:/etc/nginx/certs:ro" in volumes
    assert not any(volume.startswith(("./certs:", "./certs/ca")) for volume in volumes)
    assert "./nginx/templates:/etc/nginx/templates:ro" in volumes


def test_every_variable_the_compose_file_reads_is_documented_in_env_example() -> None:
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    used = set(VARIABLE.findall(text))
    assert used, "the compose file reads its configuration from .env"
    assert used - documented_variables() == set()


def test_no_variable_is_nested_in_another_variables_default() -> None:
    # docker-compose 1.x leaves ${A:-x${B}y} unexpanded (found by tests/deploy/test_compose_live.py).
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert re.findall(r"\$\{[^}]*\$\{", text) == []


def test_secrets_come_from_env_and_are_required(compose: dict[str, Any]) -> None:
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert "${SMILE_SECRET_KEY:?" in text
    assert "${SMILE_POSTGRES_PASSWORD:?" in text
    with pytest.raises(AssertionError, match="SMILE_SECRET_KEY"):
        interpolate(text, {"SMILE_POSTGRES_PASSWORD": "x"})


def test_check_deploy_is_clean_with_the_environment_compose_gives_the_image(compose: dict[str, Any]) -> None:
    dotenv = dict.fromkeys(documented_variables(), "") | {
        "SMILE_SECRET_KEY": "k" + "s3cr3t-" * 10,
        "SMILE_POSTGRES_PASSWORD": "pg-password",
        "SMILE_ALLOWED_HOSTS": "smile.example.com",
    }
    rendered = interpolate_values(compose, dotenv)
    for name in ("web1", "worker", "beat", "migrate"):
        service_env = {key: str(value) for key, value in rendered["services"][name]["environment"].items()}
        assert service_env["SMILE_DEBUG"] == "0", name
        assert service_env["SMILE_DATABASE_URL"] == "postgres://smile@postgres:5432/smile", name
        assert service_env["PGPASSWORD"] == "pg-password", name
        assert service_env["SMILE_REDIS_URL"] == "redis://redis:6379/0", name
        clean = {key: value for key, value in os.environ.items() if not key.startswith(("SMILE_", "DJANGO_"))}
        done = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=PROJECT_ROOT,
            env={**clean, **service_env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (name, done.stderr)
        assert "System check identified no issues (0 silenced)." in done.stdout


# --- The Dockerfile -----------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"FROM\s+\S+\s+AS\s+(\S+)", line, flags=re.IGNORECASE)
        if match:
            current = stages.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    return stages


def test_the_image_is_multi_stage_and_its_final_stage_runs_unprivileged_without_compilers() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "app", "the default target is the image"
    # No stage the image does not use: the classic builder builds every stage before its target.
    assert list(stages) == ["build", "runtime", "app"]
    users = [line.split()[1] for line in stages["app"] if line.upper().startswith("USER ")]
    assert users, "app sets a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    for name in ("runtime", "app"):
        text = "\n".join(stages[name])
        assert "pip install" not in text, name
        assert not re.search(r"\b(gcc|g\+\+|build-essential|apt-get install)\b", text), name
        assert not re.search(r"^(ENV|ARG)\b.*SECRET", text, flags=re.MULTILINE), f"{name} bakes a secret"
    assert any("COPY --from=build /opt/venv" in line for line in stages["app"])


def test_the_build_context_leaves_out_secrets_certificates_and_local_state() -> None:
    ignored = set((PROJECT_ROOT / ".dockerignore").read_text().split())
    assert {".env", "certs/", ".venv/", "db.sqlite3", ".git"} <= ignored


# --- The nginx template -------------------------------------------------------------------


def test_the_template_variables_are_exactly_those_the_compose_file_gives_nginx(compose: dict[str, Any]) -> None:
    given = set(compose["services"]["nginx"]["environment"])
    assert nginx.template_variables(nginx.TEMPLATE.read_text()) == given


def test_render_keeps_nginx_variables_and_refuses_a_missing_value() -> None:
    assert nginx.render("return 301 https://$host:${PORT}$request_uri;", {"PORT": "443"}) == (
        "return 301 https://$host:443$request_uri;"
    )
    with pytest.raises(KeyError, match="NGINX_WEB2"):
        nginx.render("server ${NGINX_WEB1}; server ${NGINX_WEB2};", {"NGINX_WEB1": "web1:8000"})


def test_the_template_sets_the_headers_tls_and_proxying_the_platform_relies_on() -> None:
    template = nginx.TEMPLATE.read_text()
    assert f'add_header Content-Security-Policy "{CSP}" always;' in template
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in template
    assert "$proxy_add_x_forwarded_for" not in template, "a client's X-Forwarded-For must not survive"
    # Every proxied location overwrites both forwarded headers.
    locations = template.count("proxy_pass http://smile_web;")
    assert locations == 2
    assert template.count("proxy_set_header X-Forwarded-For $remote_addr;") == locations
    assert template.count("proxy_set_header X-Forwarded-Proto $scheme;") == locations


def test_the_rendered_configuration_passes_nginx_t(tmp_path: Path) -> None:
    binary = required_nginx()
    from deploy import certs

    issued = certs.issue(tmp_path / "certs")
    prefix = tmp_path / "nginx"
    main = prepare_nginx(
        prefix=prefix,
        http_port=18080,
        https_port=18443,
        web_ports={"web1": 18001, "web2": 18002, "web3": 18003},
        cert_dir=issued.paths.site_cert.parent,
        static_root=tmp_path / "static",
    )
    done = subprocess.run(nginx_command(binary, prefix, main, "-t"), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
