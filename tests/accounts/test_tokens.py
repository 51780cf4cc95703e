"""Secrets and user codes for pairing (accounts/tokens.py)."""

from __future__ import annotations

import hashlib
import re

import pytest

from accounts.tokens import (
    USER_CODE_ALPHABET,
    format_user_code,
    hash_secret,
    new_secret,
    new_user_code,
    normalize_user_code,
)


def test_secrets_are_256_bit_url_safe_and_fresh() -> None:
    secrets = {new_secret() for _ in range(100)}

    assert len(secrets) == 100
    for secret in secrets:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)


def test_hash_secret_is_sha256_hex() -> None:
    assert hash_secret("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert len(hash_secret(new_secret())) == 64


def test_the_alphabet_has_twenty_consonants_and_nothing_that_reads_like_a_vowel() -> None:
    assert len(USER_CODE_ALPHABET) == len(set(USER_CODE_ALPHABET)) == 20
    assert not set(USER_CODE_ALPHABET) & set("AEIOUY0123456789")


def test_user_codes_are_eight_letters_from_the_alphabet() -> None:
    codes = [new_user_code() for _ in range(300)]

    for code in codes:
        assert len(code) == 8
        assert set(code) <= set(USER_CODE_ALPHABET)
    assert len(set(codes)) > 290  # 20^8 possibilities: repeats would mean a broken generator
    assert set("".join(codes)) == set(USER_CODE_ALPHABET)


def test_format_user_code_splits_the_code_in_two_halves() -> None:
    assert format_user_code("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.parametrize(
    "typed",
    ["BCDF-GHJK", "bcdf-ghjk", "BcDfGhJk", " bcdf ghjk ", "B-C-D-F-G-H-J-K", "bcdf\u2013ghjk", "\tBCDF\u00a0GHJK\n"],
)
def test_normalize_user_code_ignores_case_spaces_and_dashes(typed: str) -> None:
    assert normalize_user_code(typed) == "BCDFGHJK"


@pytest.mark.parametrize(
    "typed",
    ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "BCDF_GHJK", "BCDF.GHJK", "ßCDF-GHJK", "\uff22CDF-GHJK"],
)
def test_normalize_user_code_refuses_what_cannot_be_a_code(typed: str) -> None:
    assert normalize_user_code(typed) is None
