"""The production topology, live and native: nginx (TLS, HTTP/2) in front of three daphne and a Celery worker.

The stack (tests/integration/stack.py) runs docker-compose.yml's commands and the project's
nginx template on loopback, against a fresh Postgres database and the real Redis. Clients
trust only the CA that ``make certs`` code generated. The tests run in file order; the last
one kills a daphne.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.client
import json
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import sync_playwright
from websockets.typing import Origin

from smile_site import content_security
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import StreamClient, open_stream, pair_through_the_pages
from tests.integration.stack import WEB_SERVICES, Stack, client_context
from tests.services import require_service

pytestmark = pytest.mark.services

FIRST_ANSWER_TIMEOUT = 120.0
ANSWER_TIMEOUT = 30.0
# The one policy (smile_site/content_security.py): nginx's template says it word for word.
CSP = content_security.header_value()
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def https(stack: Stack, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None):
    """One request to nginx over TLS, trusting only the generated CA; the response (read) and its connection."""
    connection = http.client.HTTPSConnection("localhost", stack.https_port, timeout=30, context=stack.site.ssl_context)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response, connection


def wsconnects(stack: Stack) -> Counter[str]:
    """Stream sockets each daphne accepted, from its JSON log (daphne's access log is off: it names addresses)."""
    return Counter({name: stack.web_log(name).count('"event": "stream socket opened"') for name in WEB_SERVICES})


@contextlib.asynccontextmanager
async def open_sockets(stack: Stack, count: int) -> AsyncIterator[list[StreamClient]]:
    """``count`` sockets on /ws/stream/ through nginx, opened at the same time and held open together."""
    async with contextlib.AsyncExitStack() as exits:
        streams = await asyncio.gather(*(exits.enter_async_context(open_stream(stack.site)) for _ in range(count)))
        yield list(streams)


# --- TLS, headers, hosts ------------------------------------------------------------------


def test_pages_come_over_https_trusting_only_the_generated_ca_with_each_security_header_once(stack: Stack) -> None:
    response, connection = https(stack, "GET", "/")
    assert response.status == 200
    assert connection.sock is not None
    assert connection.sock.version() in {"TLSv1.2", "TLSv1.3"}
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_all(name) == [value], name
    assert response.getheader("Server") == "nginx", "no version in the Server header"
    assert response.getheader("Content-Encoding") is None, "HTML is never compressed (BREACH)"

    # The machine's own trust store does not know the local CA.
    untrusted = http.client.HTTPSConnection("localhost", stack.https_port, timeout=30)
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusted.request("GET", "/")


def test_tls_1_2_and_http_2_are_offered(stack: Stack) -> None:
    assert stack.site.ssl_context is not None
    tls12 = client_context(stack.ca_cert)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    tls12.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("localhost", stack.https_port), timeout=30) as raw,
        tls12.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.2"
        assert tls.selected_alpn_protocol() == "h2"


def test_plain_http_redirects_to_https_keeping_the_path(stack: Stack) -> None:
    connection = http.client.HTTPConnection("localhost", stack.http_port, timeout=30)
    connection.request("GET", "/accounts/login/?next=/devices/")
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location") == f"https://localhost:{stack.https_port}/accounts/login/?next=/devices/"


def test_unknown_hosts_get_no_answer_over_http_and_no_tls_handshake(stack: Stack) -> None:
    connection = http.client.HTTPConnection("localhost", stack.http_port, timeout=30)
    connection.request("GET", "/", headers={"Host": "evil.example"})
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()

    unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    for name, accepted in (("localhost", True), ("evil.example", False)):
        with socket.create_connection(("127.0.0.1", stack.https_port), timeout=30) as raw:
            if accepted:
                with unverified.wrap_socket(raw, server_hostname=name) as tls:
                    assert tls.version()
            else:
                with pytest.raises(ssl.SSLError), unverified.wrap_socket(raw, server_hostname=name):
                    pass


def test_static_files_come_from_nginx_cached_for_a_year_and_gzipped(stack: Stack) -> None:
    manifest = json.loads((Path(stack.site.env["SMILE_STATIC_ROOT"]) / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/site.css"]
    response, _ = https(stack, "GET", f"/static/{hashed}", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Cache-Control") == "max-age=31536000"
    assert response.getheader("Content-Security-Policy") == CSP, "security headers on static files too"
    assert not any("/static/" in stack.web_log(name) for name in WEB_SERVICES), "daphne never saw it"


def test_request_bodies_are_limited_by_nginx_and_then_by_the_app(stack: Stack) -> None:
    headers = {"Content-Type": "application/json", "Origin": stack.site.origin}
    too_large_for_nginx = b'{"device_name": "' + b"x" * 100_000 + b'"}'
    response, _ = https(stack, "POST", "/api/pair/start", body=too_large_for_nginx, headers=headers)
    assert response.status == 413
    assert not any("/api/pair/start" in stack.web_log(name) for name in WEB_SERVICES)

    too_large_for_the_app = b'{"device_name": "' + b"x" * 5000 + b'"}'
    connection = http.client.HTTPSConnection("localhost", stack.https_port, timeout=30, context=stack.site.ssl_context)
    connection.request("POST", "/api/pair/start", body=too_large_for_the_app, headers=headers)
    answer = connection.getresponse()
    assert answer.status == 413
    assert json.loads(answer.read())["error"] == "request_too_large"


def test_forwarded_headers_from_the_client_are_overwritten(stack: Stack) -> None:
    path = f"/no-such-page-{secrets.token_hex(4)}/"
    response, _ = https(stack, "GET", path, headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"})
    # 404, not Django's redirect to HTTPS: the client's X-Forwarded-Proto did not reach it either.
    assert response.status == 404
    # daphne --proxy-headers takes the address nginx saw, not the one the client claimed: six
    # reset requests claiming six networks all count against nginx's one (5 an hour per network).
    statuses = [password_reset_status(stack, claimed=f"203.0.{index}.9") for index in range(1, 7)]
    assert statuses == [302] * 5 + [429], statuses
    logs = "".join(stack.web_log(name) for name in WEB_SERVICES)
    assert "203.0." not in logs


def password_reset_status(stack: Stack, *, claimed: str) -> int:
    """One password reset request through nginx, with its form's CSRF token, claiming ``claimed`` as the client."""
    connection = http.client.HTTPSConnection("localhost", stack.https_port, timeout=30, context=stack.site.ssl_context)
    connection.request("GET", "/accounts/password/reset/")
    page = connection.getresponse()
    html = page.read().decode()
    cookie = page.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    body = f"csrfmiddlewaretoken={token}&email=reset-{secrets.token_hex(4)}%40example.com".encode()
    origin = stack.site.origin
    headers = {
        "Cookie": cookie,
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": origin,
        "Referer": f"{origin}/accounts/password/reset/",
        "X-Forwarded-For": claimed,
    }
    connection.request("POST", "/accounts/password/reset/", body=body, headers=headers)
    answer = connection.getresponse()
    answer.read()
    return answer.status


# --- The stream through nginx -------------------------------------------------------------


async def test_a_device_pairs_and_streams_over_wss_through_nginx(stack: Stack) -> None:
    site = stack.site
    device = await asyncio.to_thread(pair_through_the_pages, site)
    face_frame = encode(webcam_frame_with_face())

    async with open_stream(site, token=device.token) as stream:
        assert stream.of_type("ready") != [], stream.messages
        await stream.send_frame(face_frame)
        result = await stream.answer_to(1, timeout=FIRST_ANSWER_TIMEOUT)
        assert (result["type"], result["face"]) == ("result", True), result
        # The app's own limit answers an oversized frame; the socket (and nginx) carry on.
        await stream.send_frame(b"\xff" * 262_145)
        assert await stream.answer_to(2, timeout=ANSWER_TIMEOUT) == {
            "type": "error",
            "seq": 2,
            "code": "frame_too_large",
        }
        await stream.send_json({"type": "ping"})
        await stream.wait_for(lambda: stream.of_type("pong") != [], timeout=ANSWER_TIMEOUT, what="pong")
        assert not stream.closed

    # The partial window with a face is stored when the socket closes.
    deadline = time.monotonic() + ANSWER_TIMEOUT
    rows: list[tuple[int, int]] = []
    while not rows and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        rows = site.database.rows("SELECT frames, faces FROM moods_moodevent WHERE device_id = %s", device.device_id)
    assert rows, "a MoodEvent row for the streamed window"
    assert rows[0][1] >= 1
    assert b"Task inference.stream_frames[" in (site.log_dir / "worker.log").read_bytes(), "frames went via Celery"


async def test_a_message_over_the_websocket_limit_closes_the_socket_1009(stack: Stack) -> None:
    async with open_stream(stack.site) as stream:
        await stream.send_frame(b"\x00" * (1_048_576 + 1))
        # daphne fails the connection with 1009 at once, usually while the client is still sending,
        # so the close frame may be lost in the reset (1006). Without the limit the app would
        # answer the unauthenticated frame with 4401.
        assert await stream.closed_with(timeout=ANSWER_TIMEOUT) in {1009, 1006}
        assert stream.messages == []


async def test_many_connections_spread_across_all_three_daphne(stack: Stack) -> None:
    before = wsconnects(stack)
    async with open_sockets(stack, 12) as streams:
        assert all(not stream.closed for stream in streams)
    after = wsconnects(stack)
    spread = {name: after[name] - before[name] for name in WEB_SERVICES}
    assert sum(spread.values()) == 12, spread
    assert all(count >= 2 for count in spread.values()), spread


# --- Reachability -------------------------------------------------------------------------


def _listening_sockets() -> dict[int, str]:
    """Socket inode -> local "address:port" of every listening TCP socket on the machine."""
    listening: dict[int, str] = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with contextlib.suppress(FileNotFoundError), open(table) as file:
            for row in file.readlines()[1:]:
                fields = row.split()
                if fields[3] != "0A":  # LISTEN
                    continue
                raw_address, raw_port = fields[1].split(":")
                packed = bytes.fromhex(raw_address)
                # /proc prints each 32-bit word in host (little-endian) order.
                words = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))
                listening[int(fields[9])] = f"{socket.inet_ntop(family, words)}:{int(raw_port, 16)}"
    return listening


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            match = re.fullmatch(r"socket:\[(\d+)\]", str(fd.readlink()))
            if match:
                inodes.add(int(match.group(1)))
    return inodes


def _non_loopback_ipv4_addresses() -> list[str]:
    try:
        done = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, timeout=10, check=False)
    except FileNotFoundError:  # no iproute2: the /proc check above still holds
        return []
    if done.returncode != 0:
        return []
    return [
        entry["local"]
        for interface in json.loads(done.stdout)
        for entry in interface.get("addr_info", [])
        if not entry["local"].startswith("127.")
    ]


def _connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=5):
            return True
    except OSError:
        return False


def test_only_nginx_listens_beyond_loopback(stack: Stack) -> None:
    listening = _listening_sockets()
    processes = stack.site.processes
    for name in (*WEB_SERVICES, "worker"):
        addresses = {listening[inode] for inode in _socket_inodes(processes[name].pid) if inode in listening}
        # A daphne: its site port and its metrics port (SMILE_METRICS_ADDRESS), both on loopback.
        expected = (
            {f"127.0.0.1:{stack.web_ports[name]}", f"127.0.0.1:{stack.metrics_ports[name]}"}
            if name in WEB_SERVICES
            else set()
        )
        assert addresses == expected, (name, addresses)
    nginx_addresses = {listening[inode] for inode in _socket_inodes(processes["nginx"].pid) if inode in listening}
    assert nginx_addresses == {f"0.0.0.0:{stack.http_port}", f"0.0.0.0:{stack.https_port}"}

    # From another address of this machine, as another host on the network would connect.
    for address in _non_loopback_ipv4_addresses():
        assert _connects(address, stack.https_port), address
        assert _connects(address, stack.http_port), address
        for name in WEB_SERVICES:
            assert not _connects(address, stack.web_ports[name]), (name, address)


# --- A real browser ------------------------------------------------------------------------


def spki_pin(certificate: Path) -> str:
    """Chromium's pin for a certificate: base64 of the SHA-256 of its public key (SPKI)."""
    public = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_chromium_signs_up_over_http_2_through_nginx_with_no_csp_violation(stack: Stack) -> None:
    if not CHROMIUM.exists():
        require_service("Chromium", f"Chromium not found at {CHROMIUM}")
    origin = stack.site.origin
    problems: list[str] = []
    with sync_playwright() as playwright:
        # Chromium accepts exactly the generated certificate (its key pinned), nothing else.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_pin(stack.site_cert)}"],
        )
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            for path in ("/", "/accounts/login/", "/accounts/signup/"):
                response = page.goto(origin + path)
                assert response is not None
                assert response.status == 200, path
                assert response.header_value("content-security-policy") == CSP
                protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
                assert protocol == "h2", path
                # The site's own stylesheet loaded under the CSP.
                assert page.evaluate("[...document.styleSheets].some(sheet => sheet.cssRules.length > 0)"), path

            page.fill('input[name="email"]', f"browser-{secrets.token_hex(4)}@example.com")
            page.fill('input[name="display_name"]', "Browser")
            page.select_option('select[name="time_zone"]', "UTC")
            page.fill('input[name="password1"]', "a-long-and-kind-passphrase-7")
            page.fill('input[name="password2"]', "a-long-and-kind-passphrase-7")
            page.locator('form:has(input[name="password2"]) [type="submit"]').click()
            page.wait_for_url(f"{origin}/dashboard/")
            cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
            assert cookies["sessionid"]["secure"]
            assert cookies["sessionid"]["httpOnly"]
        finally:
            browser.close()
    assert problems == [], "console errors (a CSP violation shows up here)"


# --- Failure of one instance (last: it leaves the stack with two) -------------------------


async def test_new_connections_are_served_by_the_other_two_when_one_daphne_dies(stack: Stack) -> None:
    victim = stack.site.processes["web2"]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=15)
    assert not _connects("127.0.0.1", stack.web_ports["web2"])

    before = wsconnects(stack)
    for _ in range(9):
        async with open_stream(stack.site) as stream:
            assert not stream.closed
    for _ in range(6):
        response, _ = https(stack, "GET", "/")
        assert response.status == 200
    after = wsconnects(stack)
    assert after["web2"] == before["web2"]
    assert (after["web1"] - before["web1"]) + (after["web3"] - before["web3"]) == 9
    assert after["web1"] > before["web1"]
    assert after["web3"] > before["web3"]

    # A raw handshake sees nothing of the dead instance either.
    async with websockets.connect(
        stack.site.ws_url, origin=Origin(stack.site.origin), ssl=stack.site.ssl_context, open_timeout=30
    ) as connection:
        assert connection.state.name == "OPEN"
