"""Secrets for pairing: device codes and access tokens (stored only as SHA-256), and user codes.

A user code is 8 letters from an alphabet without vowels (no words can form) and without
letters that read alike; people type it, so it is shown as ``BCDF-GHJK`` and read back
ignoring case, spaces and dashes.
"""

from __future__ import annotations

import hashlib
import secrets

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
_USER_CODE_LETTERS = frozenset(USER_CODE_ALPHABET)
# Hyphen-minus and the dashes a phone keyboard or a copy from a chat message may produce instead.
_DASHES = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2212")


def new_secret() -> str:
    """A fresh 256-bit secret, URL-safe (43 characters): device codes and access tokens."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a secret. Secrets have 256 bits of entropy, so a plain hash is enough (no salt, no stretching)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_user_code() -> str:
    """8 random letters from the alphabet (about 34.6 bits)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """``BCDFGHJK`` -> ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(text: str) -> str | None:
    """The code a person typed, as stored (``bcdf-ghjk `` -> ``BCDFGHJK``), or None when it cannot be one."""
    code = "".join(text.split()).translate(_DASHES).upper()
    if len(code) != USER_CODE_LENGTH or not set(code) <= _USER_CODE_LETTERS:
        return None
    return code
