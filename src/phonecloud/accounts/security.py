"""Secrets: password hashes (Argon2id) and random bearer tokens stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong email and a wrong password take alike."""
    return _hasher.hash("phonecloud-dummy-password")

API_KEY_PREFIX = "pck_"
SESSION_PREFIX = "pcs_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (a library upgrade, a stronger profile)."""
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def digests_match(stored: str, presented: str) -> bool:
    """Compare in constant time, so the time taken says nothing of how much of a digest matched."""
    return hmac.compare_digest(stored.encode(), presented.encode())
