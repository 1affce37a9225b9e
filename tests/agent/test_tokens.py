"""Bearer tokens: signed, expiring, and refused without saying why in detail."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from tests.agent.acme import ORG
from understudy.agent import Caller, issue_token, verify_token
from understudy.directory import load_org, parse_org
from understudy.errors import PermissionDenied
from understudy.store import Store
from understudy.store.sqlite import SQLiteStore


@pytest.fixture
def people(store: Store) -> Store:
    """Return a store (SQLite, then PostgreSQL) that knows Acme's people."""
    load_org(store, parse_org(ORG, "acme"))
    return store


def test_a_token_names_its_person_until_it_expires(people: Store) -> None:
    token = issue_token(people, "ravi", lifetime=3600)
    caller = verify_token(people, token)
    assert caller == Caller(person="ravi", agent=False, expires=caller.expires)
    assert time.time() + 3590 < caller.expires <= time.time() + 3600
    assert verify_token(people, issue_token(people, "maya", agent=True)).agent is True
    assert verify_token(people, f"  {token}\n").person == "ravi"  # pasted with whitespace


def swap_claims(token: str, **claims: object) -> str:
    """Return ``token`` with its claims changed and the old signature kept."""
    version, body, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{version}.{forged}.{signature}"


def tampered(people: Store) -> list[str]:
    """Return tokens that must all be refused the same way."""
    token = issue_token(people, "ravi")
    version, body, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        swap_claims(token, p="maya"),  # someone else's name
        swap_claims(token, a=True),  # an agent's powers
        swap_claims(token, e=int(time.time()) + 10**9),  # a longer life
        f"{version}.{body}.{flipped}",
        f"us2.{body}.{signature}",
        f"{version}.{body}",
        "",
        "not a token",
        "us1.é.é",
        token + "x",
    ]


def test_a_tampered_token_is_refused_without_details(people: Store) -> None:
    for token in tampered(people):
        with pytest.raises(PermissionDenied) as refused:
            verify_token(people, token)
        assert str(refused.value) == "invalid token", token


def test_an_expired_token_says_how_to_get_a_new_one(people: Store) -> None:
    token = issue_token(people, "ravi", lifetime=-1)
    with pytest.raises(PermissionDenied) as refused:
        verify_token(people, token)
    message = str(refused.value)
    assert message == "expired token; ask for a new one with 'understudy token PERSON'"
    assert "ravi" not in message


def test_a_token_for_someone_unknown_is_refused(people: Store) -> None:
    token = issue_token(people, "mallory")
    with pytest.raises(PermissionDenied, match=r"^invalid token$"):
        verify_token(people, token)


def test_a_token_from_another_deployment_is_refused(people: Store, tmp_path: Path) -> None:
    other = SQLiteStore.open(tmp_path / "other.db")
    load_org(other, parse_org(ORG, "acme"))
    try:
        foreign = issue_token(other, "ravi")
        with pytest.raises(PermissionDenied, match=r"^invalid token$"):
            verify_token(people, foreign)
    finally:
        other.close()
