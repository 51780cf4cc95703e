"""The /pair/ pages: type the code, check the device, approve or deny."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import PairingRequest, User
from accounts.pairing import approve_pairing, start_pairing
from accounts.tokens import format_user_code
from tests.accounts.conftest import Clock
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAIR_URL = reverse("pair")
DECIDE_URL = reverse("pair_decide")


@pytest.fixture
def waiting() -> PairingRequest:
    request, _ = start_pairing(device_name="Chrome on Ada's laptop", ip="127.0.0.1")
    return request


def code_of(request: PairingRequest) -> str:
    return format_user_code(request.user_code)


def test_pairing_requires_login(client: Client) -> None:
    response = client.get(f"{PAIR_URL}?code=BCDF-GHJK")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert client.post(DECIDE_URL, {"code": "BCDF-GHJK", "decision": "approve"}).status_code == 302


def test_the_code_form_is_prefilled_from_the_link(browser: Client) -> None:
    page = browser.get(PAIR_URL, {"code": "BCDF-GHJK"}).content.decode()

    assert 'value="BCDF-GHJK"' in page
    assert 'autocomplete="off"' in page
    assert "Pair a device" in page


def test_the_code_form_starts_empty_without_a_link(browser: Client) -> None:
    page = browser.get(PAIR_URL).content.decode()

    assert 'name="code"' in page
    assert "value=" not in page.split('name="code"', 1)[1].split(">", 1)[0]


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {plain} ", "{spaced}"])
def test_a_code_in_any_spelling_shows_the_device_that_asks(
    browser: Client, waiting: PairingRequest, typed: str
) -> None:
    code = code_of(waiting)
    spelled = typed.format(code=code, lower=code.lower(), plain=waiting.user_code, spaced=code.replace("-", " "))

    response = browser.post(PAIR_URL, {"code": spelled})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Approve this device?" in page
    assert "Chrome on Ada&#x27;s laptop" in page
    assert f'<p class="user-code">{code}</p>' in page
    assert f'<input type="hidden" name="code" value="{code}">' in page
    assert 'value="approve"' in page
    assert 'value="deny"' in page
    assert "csrfmiddlewaretoken" in page


def test_the_confirmation_escapes_the_device_name(browser: Client) -> None:
    request, _ = start_pairing(device_name="<script>alert(1)</script>", ip=None)

    page = browser.post(PAIR_URL, {"code": code_of(request)}).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_confirmation_says_when_the_device_asked_in_the_users_time_zone(client: Client, clock: Clock) -> None:
    client.force_login(make_user(email="tokyo@example.com", time_zone="Asia/Tokyo"))
    clock.now = clock.now.replace(hour=1, minute=30)
    request, _ = start_pairing(device_name="Chrome", ip=None)
    clock.advance(minutes=3)

    page = client.post(PAIR_URL, {"code": code_of(request)}).content.decode()

    assert ">10:30</time> (3\xa0minutes ago)" in page
    assert "in 7\xa0minutes" in page


@pytest.mark.parametrize("typed", ["", "BCDF", "ABCD-EFGH", "BCDF-GHJK-LMNP"])
def test_a_malformed_code_is_explained(browser: Client, typed: str) -> None:
    response = browser.post(PAIR_URL, {"code": typed})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Please check the form" in page
    assert 'aria-invalid="true"' in page


def test_an_unknown_code_is_explained(browser: Client, waiting: PairingRequest) -> None:
    other = "BCDF-GHJK" if waiting.user_code != "BCDFGHJK" else "CDFG-HJKL"

    page = browser.post(PAIR_URL, {"code": other}).content.decode()

    assert "No device is waiting for this code." in page
    assert "Approve this device?" not in page


def test_an_expired_code_is_explained(browser: Client, waiting: PairingRequest, clock: Clock) -> None:
    clock.advance(minutes=11)

    page = browser.post(PAIR_URL, {"code": code_of(waiting)}).content.decode()

    assert "This code has expired." in page
    assert "Approve this device?" not in page


def test_a_used_code_is_explained(browser: Client, waiting: PairingRequest) -> None:
    approve_pairing(request=waiting, user=make_user(email="grace@example.com"))

    page = browser.post(PAIR_URL, {"code": code_of(waiting)}).content.decode()

    assert "This code was already used." in page


def test_approving_pairs_the_request_with_the_user(browser: Client, user: User, waiting: PairingRequest) -> None:
    response = browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": "approve"}, follow=True)

    assert response.redirect_chain == [(reverse("devices"), 302)]
    assert "You approved “Chrome on Ada&#x27;s laptop”." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.APPROVED
    assert waiting.user == user


def test_denying_refuses_the_request(browser: Client, user: User, waiting: PairingRequest) -> None:
    response = browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": "deny"}, follow=True)

    assert response.redirect_chain == [(PAIR_URL, 302)]
    assert "You denied “Chrome on Ada&#x27;s laptop”." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.DENIED


def test_a_decision_on_an_expired_request_is_refused(browser: Client, waiting: PairingRequest, clock: Clock) -> None:
    clock.advance(minutes=10)

    response = browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": "approve"})

    assert "This code has expired." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.PENDING


def test_a_second_decision_is_refused(browser: Client, waiting: PairingRequest) -> None:
    browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": "deny"})

    response = browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": "approve"})

    assert "This code was already used." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.DENIED


@pytest.mark.parametrize("decision", ["", "maybe", "APPROVE"])
def test_an_unknown_decision_changes_nothing(browser: Client, waiting: PairingRequest, decision: str) -> None:
    response = browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": decision})

    assert response["Location"] == PAIR_URL
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.PENDING


def test_deciding_needs_post(browser: Client, waiting: PairingRequest) -> None:
    response = browser.get(DECIDE_URL, {"code": code_of(waiting), "decision": "approve"})

    assert response.status_code == 405
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.PENDING


def test_deciding_needs_the_csrf_token(user: User, waiting: PairingRequest) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(DECIDE_URL, {"code": code_of(waiting), "decision": "approve"})

    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.PENDING


# --- Wrong codes are rate-limited ----------------------------------------------------------


def test_five_wrong_codes_lock_the_user_out_for_ten_minutes(browser: Client, waiting: PairingRequest) -> None:
    wrong = "BCDF-GHJK" if waiting.user_code != "BCDFGHJK" else "CDFG-HJKL"
    for _ in range(5):
        assert "No device is waiting" in browser.post(PAIR_URL, {"code": wrong}).content.decode()

    refused = browser.post(PAIR_URL, {"code": code_of(waiting)})
    refused_decision = browser.post(DECIDE_URL, {"code": code_of(waiting), "decision": "approve"})

    assert refused.status_code == 429
    assert refused["Retry-After"] == "600"
    page = refused.content.decode()
    assert "Too many wrong codes. Try again in 10 minutes." in page
    assert "Approve this device?" not in page
    assert refused_decision.status_code == 429
    waiting.refresh_from_db()
    assert waiting.status == PairingRequest.Status.PENDING


def test_malformed_expired_and_used_codes_do_not_count_as_guesses(
    browser: Client, waiting: PairingRequest, clock: Clock
) -> None:
    used, _ = start_pairing(device_name="Used", ip=None)
    approve_pairing(request=used, user=make_user(email="grace@example.com"))
    for _ in range(3):
        browser.post(PAIR_URL, {"code": "nope"})
        browser.post(PAIR_URL, {"code": code_of(used)})

    response = browser.post(PAIR_URL, {"code": code_of(waiting)})

    assert response.status_code == 200
    assert "Approve this device?" in response.content.decode()


def test_wrong_codes_are_limited_per_network_across_users(waiting: PairingRequest) -> None:
    wrong = "BCDF-GHJK" if waiting.user_code != "BCDFGHJK" else "CDFG-HJKL"
    for number in range(5):
        client = Client()
        client.force_login(make_user(email=f"guesser{number}@example.com"))
        client.post(PAIR_URL, {"code": wrong})
    newcomer = Client()
    newcomer.force_login(make_user(email="newcomer@example.com"))
    elsewhere = Client(REMOTE_ADDR="198.51.100.8")
    elsewhere.force_login(make_user(email="elsewhere@example.com"))

    assert newcomer.post(PAIR_URL, {"code": code_of(waiting)}).status_code == 429
    assert "Approve this device?" in elsewhere.post(PAIR_URL, {"code": code_of(waiting)}).content.decode()


def test_wrong_codes_are_limited_per_user_across_networks(user: User, waiting: PairingRequest) -> None:
    wrong = "BCDF-GHJK" if waiting.user_code != "BCDFGHJK" else "CDFG-HJKL"
    for number in range(5):
        client = Client(REMOTE_ADDR=f"198.51.100.{number + 10}")
        client.force_login(user)
        client.post(PAIR_URL, {"code": wrong})
    fresh_network = Client(REMOTE_ADDR="203.0.113.200")
    fresh_network.force_login(user)

    response = fresh_network.post(PAIR_URL, {"code": code_of(waiting)})

    assert response.status_code == 429
    assert "Too many wrong codes." in response.content.decode()


def test_the_header_links_to_devices_for_a_signed_in_user(browser: Client) -> None:
    page = browser.get(reverse("dashboard")).content.decode()

    assert f'<a href="{reverse("devices")}">Devices</a>' in page


def test_the_header_marks_the_devices_section_while_pairing(browser: Client) -> None:
    page = browser.get(PAIR_URL).content.decode()

    assert f'<a href="{reverse("devices")}" aria-current="true">Devices</a>' in page
