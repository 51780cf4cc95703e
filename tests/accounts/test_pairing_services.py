"""The pairing services, called directly as the API, the pages and the stream consumer do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts import pairing, tasks, tokens
from accounts.models import Device, PairingRequest, User
from accounts.pairing import (
    ACCESS_DENIED,
    AUTHORIZATION_PENDING,
    EXPIRED_TOKEN,
    INVALID_GRANT,
    SLOW_DOWN,
    PairingError,
    approve_pairing,
    deny_pairing,
    poll_pairing,
    start_pairing,
)
from tests.accounts.conftest import Clock
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> User:
    return make_user()


def every_stored_value() -> Iterator[str]:
    """Every value of every row of every table, as text."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # The table names come from the database itself, not from input.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                yield from (str(value) for value in row)


# --- Starting -----------------------------------------------------------------------------


def test_start_pairing_opens_a_pending_request_that_expires_in_ten_minutes(clock: Clock) -> None:
    request, device_code = start_pairing(device_name="  Chrome on Ada's laptop ", ip="203.0.113.5")

    request.refresh_from_db()
    assert request.status == PairingRequest.Status.PENDING
    assert request.device_name == "Chrome on Ada's laptop"
    assert request.created_at == clock.now
    assert (request.expires_at - request.created_at).total_seconds() == 600
    assert request.interval == 5
    assert request.requester_ip == "203.0.113.5"
    assert request.device_code_hash == tokens.hash_secret(device_code)
    assert len(device_code) == 43


def test_start_pairing_never_stores_the_device_code_in_clear() -> None:
    _, device_code = start_pairing(device_name="Chrome", ip=None)

    values = list(every_stored_value())

    assert tokens.hash_secret(device_code) in values
    assert not any(device_code in value for value in values)


def test_user_codes_are_unique_among_live_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = iter(["BCDFGHJK", "BCDFGHJK", "BCDFGHJK", "CDFGHJKL"])
    monkeypatch.setattr(pairing, "new_user_code", lambda: next(codes))

    first, _ = start_pairing(device_name="One", ip=None)
    second, _ = start_pairing(device_name="Two", ip=None)

    assert first.user_code == "BCDFGHJK"
    assert second.user_code == "CDFGHJKL"


def test_a_code_is_free_again_once_its_request_is_finished(monkeypatch: pytest.MonkeyPatch, user: User) -> None:
    monkeypatch.setattr(pairing, "new_user_code", lambda: "BCDFGHJK")
    first, _ = start_pairing(device_name="One", ip=None)
    deny_pairing(request=first, user=user)

    second, _ = start_pairing(device_name="Two", ip=None)

    assert second.user_code == first.user_code
    assert second.pk != first.pk


def test_the_database_refuses_two_live_requests_with_one_code() -> None:
    first, _ = start_pairing(device_name="One", ip=None)

    with pytest.raises(IntegrityError), transaction.atomic():
        PairingRequest.objects.create(
            device_code_hash="0" * 64, user_code=first.user_code, device_name="Two", expires_at=first.expires_at
        )


def test_start_pairing_gives_up_when_no_code_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pairing, "new_user_code", lambda: "BCDFGHJK")
    start_pairing(device_name="One", ip=None)

    with pytest.raises(RuntimeError, match="no free user code"):
        start_pairing(device_name="Two", ip=None)


@pytest.mark.parametrize("name", ["A", "Chrome on Ada's laptop", "x" * 80, "Ordinateur de Zoë 💻", "Café\u200dBar"])
def test_validate_device_name_accepts_ordinary_names(name: str) -> None:
    assert pairing.validate_device_name(f" {name} ") == name


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(None, "device_name must be a string.", id="null"),
        pytest.param(42, "device_name must be a string.", id="number"),
        pytest.param(["Chrome"], "device_name must be a string.", id="list"),
        pytest.param("", "device_name must not be empty.", id="empty"),
        pytest.param(" \t ", "device_name must not be empty.", id="blank"),
        pytest.param("x" * 81, "device_name must be at most 80 characters (got 81).", id="too-long"),
        pytest.param("Chrome\nApproved by admin", "must not contain control characters", id="newline"),
        pytest.param("Chrome\x00", "must not contain control characters", id="nul"),
        pytest.param("Chrome\x1b[31m", "must not contain control characters", id="escape"),
        pytest.param("evil\u202emoc.elgoog", "must not contain control characters", id="bidi-override"),
        pytest.param("a\u2028b", "must not contain control characters", id="line-separator"),
        pytest.param("a\ud800b", "must not contain control characters", id="lone-surrogate"),
    ],
)
def test_validate_device_name_refuses_what_could_mislead_or_break(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        pairing.validate_device_name(value)

    assert message in error.value.messages[0]


# --- Deciding -----------------------------------------------------------------------------


def test_approve_pairing_records_who_approved(user: User) -> None:
    request, _ = start_pairing(device_name="Chrome", ip=None)

    approve_pairing(request=request, user=user)

    request.refresh_from_db()
    assert request.status == PairingRequest.Status.APPROVED
    assert request.user == user


def test_a_request_can_be_decided_only_once(user: User) -> None:
    request, _ = start_pairing(device_name="Chrome", ip=None)
    approve_pairing(request=request, user=user)

    with pytest.raises(PairingError) as error:
        deny_pairing(request=request, user=make_user(email="mallory@example.com"))

    assert error.value.reason == "used"
    request.refresh_from_db()
    assert request.status == PairingRequest.Status.APPROVED
    assert request.user == user


def test_an_expired_request_cannot_be_approved(user: User, clock: Clock) -> None:
    request, _ = start_pairing(device_name="Chrome", ip=None)
    clock.advance(seconds=600)

    with pytest.raises(PairingError) as error:
        approve_pairing(request=request, user=user)

    assert error.value.reason == "expired"
    assert "expired" in error.value.message


# --- Polling ------------------------------------------------------------------------------


def test_polling_a_pending_request_says_pending(clock: Clock) -> None:
    _, device_code = start_pairing(device_name="Chrome", ip=None)

    first = poll_pairing(device_code=device_code)
    clock.advance(seconds=5)
    second = poll_pairing(device_code=device_code)

    assert first.error == second.error == AUTHORIZATION_PENDING
    assert first.access_token is None


def test_polling_sooner_than_the_interval_slows_the_device_down(clock: Clock) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    poll_pairing(device_code=device_code)

    clock.advance(seconds=4.9)
    too_fast = poll_pairing(device_code=device_code)
    clock.advance(seconds=9.9)
    still_too_fast = poll_pairing(device_code=device_code)
    clock.advance(seconds=15)
    patient = poll_pairing(device_code=device_code)

    assert (too_fast.error, too_fast.interval) == (SLOW_DOWN, 10)
    assert "Wait at least 10 seconds" in too_fast.description
    assert (still_too_fast.error, still_too_fast.interval) == (SLOW_DOWN, 15)
    assert patient.error == AUTHORIZATION_PENDING
    request.refresh_from_db()
    assert request.interval == 15


def test_slowing_down_stops_growing_at_ten_minutes(clock: Clock) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    PairingRequest.objects.filter(pk=request.pk).update(interval=598, last_polled_at=clock.now)

    result = poll_pairing(device_code=device_code)

    assert result.interval == 600


def test_an_approved_request_gives_its_token_exactly_once(user: User, clock: Clock) -> None:
    request, device_code = start_pairing(device_name="Chrome on Ada's laptop", ip=None)
    approve_pairing(request=request, user=user)

    success = poll_pairing(device_code=device_code)
    paired_at = clock.now
    clock.advance(seconds=30)
    again = poll_pairing(device_code=device_code)

    assert success.error is None
    assert success.access_token is not None
    device = Device.objects.get()
    assert success.device == device
    assert (device.user, device.name, device.created_at) == (user, "Chrome on Ada's laptop", paired_at)
    assert device.token_hash == tokens.hash_secret(success.access_token)
    request.refresh_from_db()
    assert request.status == PairingRequest.Status.CONSUMED
    assert request.device == device
    assert again.error == INVALID_GRANT
    assert again.access_token is None
    assert Device.objects.count() == 1


def test_the_approval_is_answered_even_to_a_device_polling_too_fast(user: User) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    poll_pairing(device_code=device_code)
    approve_pairing(request=request, user=user)

    result = poll_pairing(device_code=device_code)

    assert result.access_token is not None


def test_a_denied_request_answers_access_denied(user: User) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    deny_pairing(request=request, user=user)

    result = poll_pairing(device_code=device_code)

    assert result.error == ACCESS_DENIED
    assert not Device.objects.exists()


def test_an_expired_request_answers_expired_token_even_when_approved(user: User, clock: Clock) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    approve_pairing(request=request, user=user)
    clock.advance(seconds=600)

    result = poll_pairing(device_code=device_code)

    assert result.error == EXPIRED_TOKEN
    assert not Device.objects.exists()


def test_an_unknown_device_code_answers_invalid_grant() -> None:
    start_pairing(device_name="Chrome", ip=None)

    result = poll_pairing(device_code=tokens.new_secret())

    assert result.error == INVALID_GRANT


def test_a_request_approved_by_a_since_disabled_account_is_denied(user: User) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    approve_pairing(request=request, user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    result = poll_pairing(device_code=device_code)

    assert result.error == ACCESS_DENIED
    assert not Device.objects.exists()


def test_neither_the_device_code_nor_the_token_is_stored_in_clear(user: User) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    approve_pairing(request=request, user=user)
    token = poll_pairing(device_code=device_code).access_token
    assert token is not None

    values = list(every_stored_value())

    assert tokens.hash_secret(token) in values
    for secret in (device_code, token):
        assert not any(secret in value for value in values)


# --- Housekeeping -------------------------------------------------------------------------


def test_purge_deletes_only_requests_expired_more_than_a_day_ago(user: User, clock: Clock) -> None:
    old, _ = start_pairing(device_name="Old", ip=None)
    clock.advance(hours=12)
    recent, _ = start_pairing(device_name="Recent", ip=None)
    approve_pairing(request=recent, user=user)
    clock.advance(hours=12, minutes=10, seconds=1)
    fresh, _ = start_pairing(device_name="Fresh", ip=None)

    deleted = pairing.purge_expired_pairings()

    assert deleted == 1
    assert set(PairingRequest.objects.values_list("device_name", flat=True)) == {"Recent", "Fresh"}
    assert not PairingRequest.objects.filter(pk=old.pk).exists()
    assert fresh.pk


def test_purge_keeps_the_devices_of_purged_requests(user: User, clock: Clock) -> None:
    request, device_code = start_pairing(device_name="Chrome", ip=None)
    approve_pairing(request=request, user=user)
    poll_pairing(device_code=device_code)
    clock.advance(days=2)

    assert pairing.purge_expired_pairings() == 1
    assert Device.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_the_purge_task_calls_the_purge(clock: Clock) -> None:
    start_pairing(device_name="Old", ip=None)
    clock.advance(days=1, minutes=11)

    assert tasks.purge_expired_pairings.apply().get() == 1
    assert not PairingRequest.objects.exists()
