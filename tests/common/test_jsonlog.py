"""JSON log lines (issue 26): one object per line, the fixed fields, ids, and nothing a client sent."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from common.jsonlog import REQUEST_ID, SOCKET_ID, JsonFormatter, process_name, usable_id
from moods.stream import dispatch
from smile_site.asgi import application
from tests.conftest import PROJECT_ROOT
from tests.factories import make_user, pair_device
from tests.moods.stream.test_consumer import use_dispatcher

FIELDS = {"time", "level", "process", "pid", "logger", "event"}
EMAIL = "mira.sadface@example.com"
CLIENT_ADDRESS = "203.0.113.77"


def record(message: str, *args: object, name: str = "smile.test", **extra: object) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_line_is_one_json_object_with_the_fixed_fields() -> None:
    line = JsonFormatter().format(record("stream frame %s not classified: %s", 7, "TimeoutError"))
    assert "\n" not in line
    parsed = json.loads(line)
    assert set(parsed) == FIELDS
    assert parsed["event"] == "stream frame 7 not classified: TimeoutError"
    assert parsed["level"] == "WARNING"
    assert parsed["time"].endswith("+00:00")


def test_extra_attributes_never_reach_the_line() -> None:
    parsed = json.loads(JsonFormatter().format(record("hello", frame=b"\xff\xd8jpeg", token="secret")))
    assert set(parsed) == FIELDS
    assert "secret" not in json.dumps(parsed)


def test_the_request_and_socket_ids_ride_along() -> None:
    request, socket = REQUEST_ID.set("r1"), SOCKET_ID.set("s1")
    try:
        parsed = json.loads(JsonFormatter().format(record("hello")))
    finally:
        REQUEST_ID.reset(request)
        SOCKET_ID.reset(socket)
    assert (parsed["request"], parsed["socket"]) == ("r1", "s1")


def test_an_exception_goes_in_error_on_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter().format(made)
    assert len(line.splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["error"]


def test_djangos_request_log_loses_the_path() -> None:
    made = record("Not Found: %s", f"/reset/{EMAIL}/", name="django.request", status_code=404)
    assert json.loads(JsonFormatter().format(made))["event"] == "404 Not Found"


@pytest.mark.parametrize(
    ("value", "usable"),
    [("0123abcdef", True), ("a" * 64, True), ("a" * 65, False), ("x; rm -rf", False), ("", False), (None, False)],
)
def test_only_a_short_hex_request_id_from_outside_is_kept(value: str | None, usable: bool) -> None:
    assert usable_id(value) == (value if usable else None)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["/venv/bin/daphne", "-p", "8000"], "daphne"),
        (["/venv/lib/celery/__main__.py", "-A", "smile_site", "--quiet", "worker", "-Q", "inference"], "worker"),
        (["/venv/bin/celery", "-A", "smile_site", "beat"], "beat"),
        (["manage.py", "migrate", "--noinput"], "manage migrate"),
    ],
)
def test_the_process_is_named_by_what_it_runs(monkeypatch: pytest.MonkeyPatch, argv: list[str], name: str) -> None:
    monkeypatch.delenv("SMILE_PROCESS", raising=False)
    monkeypatch.setattr(sys, "argv", argv)
    assert process_name() == name
    monkeypatch.setenv("SMILE_PROCESS", "web2")
    assert process_name() == "web2"


def test_the_logging_config_writes_json_to_stdout() -> None:
    config: dict[str, Any] = settings.LOGGING
    handler = config["handlers"]["console"]
    assert handler["stream"] == "ext://sys.stdout"
    assert config["formatters"][handler["formatter"]] == {"()": "common.jsonlog.JsonFormatter"}


def test_celery_takes_the_sites_logging_instead_of_its_own() -> None:
    from celery.signals import celeryd_init, setup_logging

    from smile_site import celery

    assert any(receiver() is celery.use_the_sites_logging for _, receiver in setup_logging.receivers)
    assert any(receiver() is celery.log_json_from_the_start for _, receiver in celeryd_init.receivers)


def test_native_stderr_becomes_json_lines_and_python_keeps_the_real_stderr() -> None:
    script = (
        "import logging, os, sys, time\n"
        "from common.jsonlog import JsonFormatter, route_native_stderr\n"
        "handler = logging.StreamHandler(sys.stdout); handler.setFormatter(JsonFormatter())\n"
        "logging.basicConfig(level=logging.INFO, handlers=[handler])\n"
        "route_native_stderr()\n"
        "os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\nERROR: native trouble\\n')\n"
        "print('python stderr', file=sys.stderr)\n"
        "time.sleep(0.5)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["logger"], line["level"], line["event"]) for line in lines] == [
        ("native", "INFO", "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."),
        ("native", "ERROR", "ERROR: native trouble"),
    ]
    assert done.stderr == "python stderr\n"


# --- A stream session's and a sign-in's logs, captured ------------------------------------


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every line the root logger writes meanwhile, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def a_stream_session(token: str) -> None:
    communicator = WebsocketCommunicator(
        application,
        "/ws/stream/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"x-forwarded-for", CLIENT_ADDRESS.encode())],
    )
    assert (await communicator.connect(timeout=5))[0]
    await communicator.send_json_to({"type": "auth", "token": token})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    for frame in (b"face-1", b"junk " + token.encode(), b"none"):
        await communicator.send_to(bytes_data=frame)
        await communicator.receive_json_from(timeout=5)
        await asyncio.sleep(0.5)
    await communicator.send_json_to({"type": "feedback", "id": 999_999, "helpful": True, "note": EMAIL})
    await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    # A second socket with the same token's wrong twin: refused.
    refused = WebsocketCommunicator(application, "/ws/stream/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    await refused.connect(timeout=5)
    await refused.send_json_to({"type": "auth", "token": token[::-1]})
    await refused.receive_output(timeout=5)
    await refused.disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_stream_session_and_a_sign_in_log_json_lines_without_token_email_or_address(
    captured: io.StringIO, settings
) -> None:
    from tests.moods.stream.test_consumer import fake_classify

    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    use_dispatcher(fake_classify)
    user = make_user(email=EMAIL)
    _, token = pair_device(user=user)
    try:
        asyncio.run(a_stream_session(token))
    finally:
        dispatch.reset_dispatcher()
    client = Client(REMOTE_ADDR=CLIENT_ADDRESS)
    client.post("/accounts/login/", {"username": EMAIL, "password": "wrong password " + token})
    client.get(f"/nothing/{EMAIL}/{token}")

    text = captured.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    events = [line["event"] for line in lines]
    assert "stream socket opened" in events
    assert any(event.startswith("http POST accounts:login") for event in events)
    assert any(event == "404 Not Found" for event in events)
    for line in lines:
        assert set(line) >= FIELDS, line
    socket_lines = [line for line in lines if line["logger"] == "moods.stream.metrics"]
    assert len({line["socket"] for line in socket_lines}) == 2, "each socket's lines share its id"
    assert all("request" in line for line in lines if line["event"].startswith("http "))
    for secret in (token, token[::-1], EMAIL, EMAIL.split("@")[0], CLIENT_ADDRESS):
        assert secret not in text
