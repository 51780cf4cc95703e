"""The accounts rate limits: what is counted, under which key, and what a refused person reads.

Failed logins are counted, successful ones reset the (network, address) counter. Password
reset requests count whether or not the address has an account, so a refusal reveals nothing.
Sign-ups count the submissions that create an account or probe an existing address.
"""

from __future__ import annotations

from accounts.conf import rate
from common import ratelimit
from common.ratelimit import RateDecision


def _email_key(email: str) -> str:
    return email.strip().lower()


def _network_and_email(ip: str, email: str) -> str:
    return f"{ratelimit.ip_bucket(ip)}|{_email_key(email)}"


# --- Login ------------------------------------------------------------------------------


def login_allowed(*, ip: str, email: str) -> RateDecision:
    """Whether this login attempt may even be checked."""
    return ratelimit.most_restrictive(
        ratelimit.peek(rate("login-ip-email"), _network_and_email(ip, email)),
        ratelimit.peek(rate("login-ip"), ratelimit.ip_bucket(ip)),
    )


def record_failed_login(*, ip: str, email: str) -> None:
    ratelimit.hit(rate("login-ip-email"), _network_and_email(ip, email))
    ratelimit.hit(rate("login-ip"), ratelimit.ip_bucket(ip))


def record_successful_login(*, ip: str, email: str) -> None:
    # The person knows the password: their own typos no longer count against them. The
    # per-network counter stays, so one valid account cannot launder a guessing campaign.
    ratelimit.reset(rate("login-ip-email"), _network_and_email(ip, email))


def login_refused_message(decision: RateDecision) -> str:
    return f"Too many attempts. Try again in {decision.retry_after_text}."


# --- The current password, asked again by the account pages -------------------------------


def current_password_allowed(*, user_id: int) -> RateDecision:
    """Whether a signed-in person may try their current password again (e-mail, password, deletion)."""
    return ratelimit.peek(rate("current-password-user"), str(user_id))


def record_wrong_current_password(*, user_id: int) -> None:
    ratelimit.hit(rate("current-password-user"), str(user_id))


def current_password_refused_message(decision: RateDecision) -> str:
    return f"Too many wrong passwords. Try again in {decision.retry_after_text}."


# --- Password reset ---------------------------------------------------------------------


def hit_password_reset(*, ip: str, email: str) -> RateDecision:
    """Count one reset request; refused when the network or the address asked too often."""
    by_network = ratelimit.hit(rate("password-reset-ip"), ratelimit.ip_bucket(ip))
    if not by_network.allowed:
        return by_network
    return ratelimit.hit(rate("password-reset-email"), _email_key(email))


def password_reset_refused_message(decision: RateDecision) -> str:
    return f"Too many password reset requests. Try again in {decision.retry_after_text}."


# --- Sign-up ----------------------------------------------------------------------------


def signup_allowed(*, ip: str) -> RateDecision:
    return ratelimit.peek(rate("signup-ip"), ratelimit.ip_bucket(ip))


def record_signup_attempt(*, ip: str) -> None:
    ratelimit.hit(rate("signup-ip"), ratelimit.ip_bucket(ip))


def signup_refused_message(decision: RateDecision) -> str:
    return f"Too many sign-ups from your network. Try again in {decision.retry_after_text}."


# --- Pairing ----------------------------------------------------------------------------


def hit_pairing_start(*, ip: str) -> RateDecision:
    return ratelimit.hit(rate("pair-start-ip"), ratelimit.ip_bucket(ip))


def hit_pairing_poll(*, ip: str, device_code: str) -> RateDecision:
    """Count one poll; refused when the network, or this one device code, polled too often.

    Checked before the database: the poll itself locks and writes the pairing request, and
    ``slow_down`` only answers a code that exists. The device code is a key like any other
    (hashed with a keyed HMAC before it reaches the cache).
    """
    by_network = ratelimit.hit(rate("pair-token-ip"), ratelimit.ip_bucket(ip))
    if not by_network.allowed:
        return by_network
    return ratelimit.hit(rate("pair-token-code"), device_code)


def hit_device_api(*, ip: str) -> RateDecision:
    return ratelimit.hit(rate("device-api-ip"), ratelimit.ip_bucket(ip))


def pairing_code_allowed(*, user_id: int, ip: str) -> RateDecision:
    """Whether this person may try another pairing code."""
    return ratelimit.most_restrictive(
        ratelimit.peek(rate("pair-code-user"), str(user_id)),
        ratelimit.peek(rate("pair-code-ip"), ratelimit.ip_bucket(ip)),
    )


def record_wrong_pairing_code(*, user_id: int, ip: str) -> None:
    ratelimit.hit(rate("pair-code-user"), str(user_id))
    ratelimit.hit(rate("pair-code-ip"), ratelimit.ip_bucket(ip))


def pairing_code_refused_message(decision: RateDecision) -> str:
    return f"Too many wrong codes. Try again in {decision.retry_after_text}."
