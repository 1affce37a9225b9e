"""Bearer tokens: who is calling, and for whom.

A token is signed (HMAC-SHA256) with a secret kept in the store, so every
API process of a deployment accepts the same tokens. It names a person, and
optionally the understudy acting for them (``agent``), and expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from understudy.errors import PermissionDenied
from understudy.store import Store

__all__ = ["Caller", "issue_token", "verify_token"]

SECRET_NAME = "token-signing-key"
DEFAULT_LIFETIME = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a token speaks for."""

    person: str
    agent: bool = False
    expires: int = 0


def _key(store: Store) -> bytes:
    return store.secret(SECRET_NAME, lambda: secrets.token_hex(32)).encode("ascii")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    store: Store, person: str, agent: bool = False, lifetime: int = DEFAULT_LIFETIME
) -> str:
    """Return a signed bearer token for a person (or the understudy acting for them)."""
    body = json.dumps({"p": person, "a": agent, "e": int(time.time()) + lifetime}).encode("utf-8")
    signature = hmac.new(_key(store), body, hashlib.sha256).digest()
    return f"us1.{_b64(body)}.{_b64(signature)}"


def verify_token(store: Store, token: str) -> Caller:
    """Return the caller a token names, or raise PermissionDenied (never saying why in detail)."""
    try:
        version, body_text, signature_text = token.strip().split(".")
        body, signature = _unb64(body_text), _unb64(signature_text)
    except (ValueError, TypeError):
        raise PermissionDenied("invalid token") from None
    expected = hmac.new(_key(store), body, hashlib.sha256).digest()
    if version != "us1" or not hmac.compare_digest(signature, expected):
        raise PermissionDenied("invalid token")
    claims = json.loads(body)
    if int(claims.get("e", 0)) < time.time():
        raise PermissionDenied("expired token; ask for a new one with 'understudy token PERSON'")
    person = str(claims.get("p", ""))
    if store.get_person(person) is None:
        raise PermissionDenied("invalid token")
    return Caller(person=person, agent=bool(claims.get("a")), expires=int(claims["e"]))
