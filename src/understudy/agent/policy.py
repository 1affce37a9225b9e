"""The owner's policy: how much the understudy may do alone, and what it may share with whom.

Autonomy is set per action type: ``observe`` (never act), ``suggest`` (draft
only), ``ask`` (queue for the owner's approval) or ``act`` (do it when the
twin's certified confidence clears the threshold, else ask). The default for
anything with side effects is ``ask``.

Sharing is a list of rules, first match wins: which askers (principals such
as ``group:exec``, ``project:atlas``, ``person:ann`` or ``group:everyone``)
may get answers, from which kinds of items and which projects. A request
from someone no rule names is declined, and queued for the owner when
``queue_declined`` is on. Whatever a rule allows, an answer only ever uses
items that both the owner and the asker may read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from understudy.errors import InputError
from understudy.records import ITEM_KINDS

__all__ = ["AUTONOMY_LEVELS", "SIDE_EFFECT_ACTIONS", "Policy", "SharingRule"]

AUTONOMY_LEVELS = ("observe", "suggest", "ask", "act")
SIDE_EFFECT_ACTIONS = ("send", "reply", "forward", "schedule", "create_task", "share", "file")


@dataclass(frozen=True, slots=True)
class SharingRule:
    """Who may get answers, and from what."""

    who: tuple[str, ...]
    kinds: tuple[str, ...] = ITEM_KINDS
    projects: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the rule as plain data."""
        return {"who": list(self.who), "kinds": list(self.kinds), "projects": list(self.projects)}


@dataclass(frozen=True, slots=True)
class Policy:
    """One owner's autonomy and sharing policy."""

    owner: str
    autonomy: dict[str, str] = field(default_factory=dict)
    sharing: tuple[SharingRule, ...] = (SharingRule(who=("group:everyone",)),)
    queue_declined: bool = True
    precision: float = 0.95

    def level(self, action: str) -> str:
        """Return the autonomy level for an action type (``ask`` unless set)."""
        return self.autonomy.get(action, "ask")

    def rule_for(self, asker_principals: set[str]) -> SharingRule | None:
        """Return the first sharing rule that names one of the asker's principals."""
        for rule in self.sharing:
            if set(rule.who) & asker_principals:
                return rule
        return None

    def as_dict(self) -> dict[str, Any]:
        """Return the policy as plain data (what the store keeps)."""
        return {
            "autonomy": dict(self.autonomy),
            "sharing": [rule.as_dict() for rule in self.sharing],
            "queue_declined": self.queue_declined,
            "precision": self.precision,
        }

    @classmethod
    def from_dict(cls, owner: str, data: dict[str, Any]) -> Policy:
        """Build a policy from stored data, checking every field."""
        if not isinstance(data, Mapping):
            raise InputError(f"policy of {owner}: expected an object with autonomy and sharing")
        if not isinstance(data.get("autonomy") or {}, Mapping):
            raise InputError(f"policy of {owner}: autonomy must map action types to levels")
        autonomy = {str(k): str(v) for k, v in (data.get("autonomy") or {}).items()}
        for action, level in autonomy.items():
            if level not in AUTONOMY_LEVELS:
                raise InputError(
                    f"policy of {owner}: autonomy for {action!r} is {level!r}; "
                    f"use one of {', '.join(AUTONOMY_LEVELS)}"
                )
        rules = []
        sharing = data.get("sharing") or []
        if not isinstance(sharing, list):
            raise InputError(f"policy of {owner}: sharing must be a list of rules")
        for n, raw in enumerate(sharing):
            if not isinstance(raw, Mapping):
                raise InputError(f"policy of {owner}: sharing[{n}]: expected an object with 'who'")
            kinds = _names(raw.get("kinds")) or ITEM_KINDS
            unknown = sorted(set(kinds) - set(ITEM_KINDS))
            who = _names(raw.get("who"))
            if unknown or not who:
                problem = f"unknown kind {unknown[0]!r}" if unknown else "missing 'who'"
                raise InputError(f"policy of {owner}: sharing[{n}]: {problem}")
            rules.append(SharingRule(who, kinds, _names(raw.get("projects"))))
        try:
            precision = float(data.get("precision", 0.95))
        except (TypeError, ValueError):
            precision = -1.0
        if not 0.5 <= precision < 1.0:
            shown = data.get("precision")
            raise InputError(f"policy of {owner}: precision {shown!r} must be in [0.5, 1)")
        return cls(
            owner=owner,
            autonomy=autonomy,
            sharing=tuple(rules) if "sharing" in data else Policy(owner).sharing,
            queue_declined=_flag(data.get("queue_declined", True)),
            precision=precision,
        )


def _names(value: object) -> tuple[str, ...]:
    """Return a list of names from a list, or from one name written alone."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def _flag(value: object) -> bool:
    """Return a yes/no setting; the string "false" means no."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
