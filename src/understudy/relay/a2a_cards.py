"""Agent Cards: how each person's understudy introduces itself to other agents (A2A 1.0)."""

from __future__ import annotations

from typing import Any

from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_1_0, TransportProtocol

from understudy import __version__
from understudy.records import Person

__all__ = ["BEARER", "agent_card", "agent_url", "card_dict", "template_card"]

BEARER = "bearer"

_SKILLS = (
    (
        "ask",
        "Ask",
        "Answer a question from what both the owner and you may read and the owner shares, "
        "citing every source.",
        ("question", "knowledge", "citations"),
        ("What did we decide about the Atlas launch date?",),
    ),
    (
        "availability",
        "Availability",
        "Say when the owner is free or busy, from their calendar.",
        ("calendar", "scheduling"),
        ("When is she free on Thursday afternoon?",),
    ),
    (
        "status",
        "Status",
        "Give the status of a project the owner works on: overdue tasks, new documents, "
        "active threads.",
        ("project", "status"),
        ("What is the status of Beacon?",),
    ),
)


def agent_url(base_url: str, person_id: str) -> str:
    """Return the URL of a person's understudy (its JSON-RPC endpoint)."""
    return f"{base_url.rstrip('/')}/a2a/{person_id}/"


def _skills() -> list[AgentSkill]:
    return [
        AgentSkill(
            id=skill_id,
            name=name,
            description=description,
            tags=list(tags),
            examples=list(examples),
            input_modes=["text/plain"],
            output_modes=["text/plain", "application/json"],
        )
        for skill_id, name, description, tags, examples in _SKILLS
    ]


def agent_card(person: Person, base_url: str, organization: str = "") -> AgentCard:
    """Return the Agent Card of ``person``'s understudy, served under ``base_url``."""
    url = agent_url(base_url, person.id)
    return AgentCard(
        name=f"Understudy of {person.name}",
        description=(
            f"The understudy of {person.name}"
            + (f" ({person.title})" if person.title else "")
            + f". It answers on {person.name}'s behalf within permissions: it uses only what "
            f"both {person.name} and you may read and what {person.name}'s sharing policy "
            "allows, always speaks as the understudy (never as the person), cites its sources, "
            "and otherwise says it cannot share and may pass the question on."
        ),
        supported_interfaces=[
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=PROTOCOL_VERSION_1_0,
            )
        ],
        provider=AgentProvider(organization=organization or "Understudy", url=base_url),
        version=__version__,
        capabilities=AgentCapabilities(streaming=False, push_notifications=False),
        security_schemes={
            BEARER: SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="bearer",
                    bearer_format="understudy token",
                    description="A token from 'understudy token PERSON' (a person) or "
                    "'understudy token PERSON --agent' (that person's understudy).",
                )
            )
        },
        security_requirements=[SecurityRequirement(schemes={BEARER: StringList()})],
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=_skills(),
    )


def template_card() -> AgentCard:
    """Return the card the request handler checks capabilities against (same for everyone)."""
    return agent_card(Person(id="understudy", name="an owner"), "http://localhost")


def card_dict(card: AgentCard) -> dict[str, Any]:
    """Return a card as the JSON an A2A client reads."""
    return agent_card_to_dict(card)
