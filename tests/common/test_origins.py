"""The stream's origin rules: exact in production, the site's own origin wherever the embedded default is served."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from common.origins import SameHost, is_site_origin
from tests.conftest import PROJECT_ROOT
from tests.test_platform import PRODUCTION_ENV

LOCAL = SameHost(allowed_hosts=("127.0.0.1", "localhost", "[::1]", "studio.lan"))


def scope(origin: str | None, host: str | None, **extra: str) -> dict[str, Any]:
    headers = [(b"origin", origin.encode())] if origin else []
    headers += [(b"host", host.encode())] if host else []
    headers += [(name.replace("_", "-").encode(), value.encode()) for name, value in extra.items()]
    return {"type": "websocket", "headers": headers}


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://localhost:8080", "localhost:8080"),  # make run HOST=0.0.0.0 PORT=8080, opened as localhost
        ("http://studio.lan:8080", "studio.lan:8080"),  # ... or by the machine's name, once ALLOWED_HOSTS has it
        ("https://studio.lan", "studio.lan"),  # a TLS proxy in front that passes the Host on
        ("http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_the_embedded_default_accepts_the_sites_own_origin_on_any_address(origin: str, host: str) -> None:
    assert LOCAL.allows(scope(origin, host))
    assert is_site_origin(scope(origin, host), site_origins=[], same_host=LOCAL)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://evil.example", "localhost:8080"),  # another site
        ("http://localhost:8081", "localhost:8080"),  # another port is another origin
        ("http://rebound.example:8080", "rebound.example:8080"),  # a rebound DNS name: not in ALLOWED_HOSTS
        ("chrome-extension://localhost:8080", "localhost:8080"),
        ("http://localhost:8080", None),
        (None, "localhost:8080"),
        ("null", "localhost:8080"),
    ],
)
def test_the_same_host_rule_refuses_everything_else(origin: str | None, host: str | None) -> None:
    assert not LOCAL.allows(scope(origin, host))


def test_a_forwarded_host_counts_only_when_the_site_trusts_it() -> None:
    behind_proxy = scope("https://studio.lan", "web:8000", x_forwarded_host="studio.lan")
    assert not LOCAL.allows(behind_proxy)
    trusting = SameHost(allowed_hosts=LOCAL.allowed_hosts, use_forwarded_host=True)
    assert trusting.allows(behind_proxy)


def test_production_compares_with_the_exact_list_only() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings; from common.origins import same_host_policy;"
        "print(settings.SMILE_SAME_HOST_ORIGIN, same_host_policy())"
    )
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "smile_site.settings"}
    production = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env={**env, **PRODUCTION_ENV}, capture_output=True, text=True
    )
    embedded = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert production.stdout.split() == ["False", "None"], production.stderr
    assert embedded.stdout.startswith("True SameHost("), embedded.stderr
