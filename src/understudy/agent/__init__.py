"""The agent: an understudy that takes requests, follows its owner's policy, asks before acting."""

from understudy.agent.organization import LocalRelay, OrgAnswer, ask_organization
from understudy.agent.policy import Policy, SharingRule
from understudy.agent.requests import Intent, Origin, Request, recognize_intent
from understudy.agent.response import Response
from understudy.agent.tokens import Caller, issue_token, verify_token
from understudy.agent.understudy import Understudy, load_policy

__all__ = [
    "Caller",
    "Intent",
    "LocalRelay",
    "OrgAnswer",
    "Origin",
    "Policy",
    "Request",
    "Response",
    "SharingRule",
    "Understudy",
    "ask_organization",
    "issue_token",
    "load_policy",
    "recognize_intent",
    "verify_token",
]
