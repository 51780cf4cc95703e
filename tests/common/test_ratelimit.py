"""The cache-backed fixed-window rate limiter (common/ratelimit.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory

from common import ratelimit
from common.ratelimit import Rate, RateDecision, client_ip, hit, ip_bucket, most_restrictive, peek, refused, reset

# The start of a window for every rate below (a multiple of 3600 seconds).
T0 = 1_800_000_000.0
THREE_PER_MINUTE = Rate(name="test-minute", limit=3, window_seconds=60)


def test_hits_are_allowed_up_to_the_limit_then_refused_until_the_window_ends() -> None:
    decisions = [hit(THREE_PER_MINUTE, "ada", now=T0 + 20) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert decisions[0].retry_after == 0
    assert decisions[3].retry_after == 40
    assert decisions[3].limit == 3


def test_the_next_window_starts_from_zero() -> None:
    for _ in range(4):
        hit(THREE_PER_MINUTE, "ada", now=T0 + 59)

    assert hit(THREE_PER_MINUTE, "ada", now=T0 + 60).allowed
    assert hit(THREE_PER_MINUTE, "ada", now=T0 + 60).count == 2


def test_counters_are_separate_per_key_and_per_rate() -> None:
    other_rate = Rate(name="test-other", limit=3, window_seconds=60)
    for _ in range(3):
        hit(THREE_PER_MINUTE, "ada", now=T0)

    assert not hit(THREE_PER_MINUTE, "ada", now=T0).allowed
    assert hit(THREE_PER_MINUTE, "grace", now=T0).count == 1
    assert hit(other_rate, "ada", now=T0).count == 1


def test_peek_reads_without_counting() -> None:
    assert peek(THREE_PER_MINUTE, "ada", now=T0) == RateDecision(allowed=True, count=0, limit=3, retry_after=0)
    for _ in range(2):
        hit(THREE_PER_MINUTE, "ada", now=T0)
    assert peek(THREE_PER_MINUTE, "ada", now=T0).allowed

    hit(THREE_PER_MINUTE, "ada", now=T0 + 15)

    assert peek(THREE_PER_MINUTE, "ada", now=T0 + 15) == RateDecision(allowed=False, count=3, limit=3, retry_after=45)
    assert peek(THREE_PER_MINUTE, "ada", now=T0 + 15).count == 3


def test_reset_forgets_the_current_windows_hits() -> None:
    for _ in range(5):
        hit(THREE_PER_MINUTE, "ada", now=T0)

    reset(THREE_PER_MINUTE, "ada", now=T0)

    assert hit(THREE_PER_MINUTE, "ada", now=T0).count == 1


def test_the_default_clock_is_the_module_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "clock", lambda: T0 + 50)

    assert hit(THREE_PER_MINUTE, "ada").count == 1
    assert hit(THREE_PER_MINUTE, "ada", now=T0 + 50).count == 2
    for _ in range(2):
        hit(THREE_PER_MINUTE, "ada")
    assert hit(THREE_PER_MINUTE, "ada").retry_after == 10


class RecordingCache:
    """The real cache, noting every key it is asked about."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(cache, name)

        def recorded(key: str, *args: Any, **kwargs: Any) -> Any:
            self.keys.append(key)
            return method(key, *args, **kwargs)

        return recorded


def test_cache_keys_never_contain_the_raw_key(monkeypatch: pytest.MonkeyPatch) -> None:
    recording = RecordingCache()
    monkeypatch.setattr(ratelimit, "cache", recording)
    secret_key = "203.0.113.9|ada.lovelace@example.com"

    hit(THREE_PER_MINUTE, secret_key, now=T0)
    hit(THREE_PER_MINUTE, secret_key, now=T0)
    peek(THREE_PER_MINUTE, secret_key, now=T0)
    reset(THREE_PER_MINUTE, secret_key, now=T0)

    assert recording.keys
    for key in recording.keys:
        assert key.startswith("smile:rl:test-minute:")
        assert "ada" not in key.lower()
        assert "203.0.113" not in key
        assert "example.com" not in key
    assert len(set(recording.keys)) == 1


def test_concurrent_hits_are_counted_exactly() -> None:
    rate = Rate(name="test-concurrent", limit=1000, window_seconds=3600)
    threads = [
        threading.Thread(target=lambda: [hit(rate, "shared", now=T0) for _ in range(25)], daemon=True) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert peek(rate, "shared", now=T0).count == 200


@pytest.mark.parametrize(("seconds", "minutes"), [(1, 1), (59, 1), (60, 1), (61, 2), (900, 15), (3600, 60)])
def test_retry_after_minutes_rounds_up(seconds: int, minutes: int) -> None:
    decision = RateDecision(allowed=False, count=9, limit=8, retry_after=seconds)

    assert decision.retry_after_minutes == minutes


@pytest.mark.parametrize(("seconds", "text"), [(30, "1 minute"), (61, "2 minutes"), (900, "15 minutes")])
def test_retry_after_text_says_minutes_in_words(seconds: int, text: str) -> None:
    assert RateDecision(allowed=False, count=9, limit=8, retry_after=seconds).retry_after_text == text


def test_most_restrictive_picks_the_longest_refusal() -> None:
    ok = RateDecision(allowed=True, count=1, limit=5, retry_after=0)
    short = RateDecision(allowed=False, count=6, limit=5, retry_after=30)
    long = RateDecision(allowed=False, count=6, limit=5, retry_after=300)

    assert most_restrictive(ok, ok) is ok
    assert most_restrictive(ok, short, long) is long
    assert most_restrictive(short, ok) is short


@pytest.mark.parametrize(("name", "limit", "window"), [("", 1, 1), ("a:b", 1, 1), ("x", 0, 60), ("x", 1, 0)])
def test_a_rate_needs_a_plain_name_and_positive_numbers(name: str, limit: int, window: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        Rate(name=name, limit=limit, window_seconds=window)


def test_refused_marks_a_page_429_with_retry_after() -> None:
    response = refused(HttpResponse("slow down"), RateDecision(allowed=False, count=6, limit=5, retry_after=120))

    assert response.status_code == 429
    assert response["Retry-After"] == "120"


def test_client_ip_is_remote_addr_and_ignores_forwarded_headers() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")

    assert client_ip(request) == "198.51.100.7"


@pytest.mark.parametrize("remote_addr", ["", "not-an-ip", "999.1.1.1"])
def test_client_ip_is_unknown_without_a_valid_remote_addr(remote_addr: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)

    assert client_ip(request) == "unknown"


@pytest.mark.parametrize(
    ("ip", "bucket"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"),
        ("2001:db8:aa:bb:ffff::9", "2001:db8:aa:bb::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("unknown", "unknown"),
    ],
)
def test_ip_bucket_groups_an_ipv6_subscriber_by_its_64(ip: str, bucket: str) -> None:
    assert ip_bucket(ip) == bucket
