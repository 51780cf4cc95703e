"""``python -m deploy.healthcheck``: the web containers' health check, against a real HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from deploy import healthcheck


class Recorder(http.server.BaseHTTPRequestHandler):
    hosts: list[str] = []  # noqa: RUF012 - one server per test, reset by the fixture
    status = 200

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers["Host"])
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.hosts, Recorder.status = [], 200
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/healthz"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_healthy_when_the_url_answers_200_naming_the_first_allowed_host(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMILE_ALLOWED_HOSTS", ".example.com, smile.example.com,localhost")
    assert healthcheck.main([server]) == 0
    assert Recorder.hosts == ["smile.example.com"]


def test_unhealthy_on_an_error_status_or_no_server(server: str) -> None:
    Recorder.status = 503
    assert healthcheck.main([server]) == 1
    assert healthcheck.healthy("http://127.0.0.1:1/healthz", "localhost", timeout=2) is False


def test_a_wrong_invocation_is_a_usage_error() -> None:
    assert healthcheck.main([]) == 2
    assert healthcheck.main(["https://example.com/healthz"]) == 2


def test_the_probe_host_skips_wildcards_and_falls_back_to_localhost() -> None:
    assert healthcheck.probe_host("*,.example.com") == "localhost"
    assert healthcheck.probe_host("") == "localhost"
    assert healthcheck.probe_host(" a.example ,b.example") == "a.example"
