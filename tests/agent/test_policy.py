"""The owner's policy: parsed strictly, defaults to asking, first sharing rule wins."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from understudy.agent import Policy, SharingRule
from understudy.agent.policy import AUTONOMY_LEVELS, SIDE_EFFECT_ACTIONS
from understudy.errors import InputError
from understudy.records import ITEM_KINDS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
policy_like = st.fixed_dictionaries(
    {},
    optional={
        "autonomy": json_values
        | st.dictionaries(st.sampled_from(SIDE_EFFECT_ACTIONS), json_values),
        "sharing": json_values
        | st.lists(st.fixed_dictionaries({}, optional={"who": json_values, "kinds": json_values})),
        "queue_declined": json_values,
        "precision": json_values,
    },
)


@given(data=json_values | policy_like)
def test_any_stored_data_is_a_policy_or_one_clear_error(data: Any) -> None:
    try:
        policy = Policy.from_dict("maya", data)
    except InputError as exc:
        message = str(exc)
        policy = None
    if policy is None:
        assert message.startswith("policy of maya: ")
        return
    assert all(level in AUTONOMY_LEVELS for level in policy.autonomy.values())
    assert all(rule.who and set(rule.kinds) <= set(ITEM_KINDS) for rule in policy.sharing)
    assert 0.5 <= policy.precision < 1


rules = st.lists(
    st.builds(
        SharingRule,
        who=st.lists(st.sampled_from(["group:hr", "group:exec", "person:ravi"]), min_size=1).map(
            tuple
        ),
        kinds=st.lists(st.sampled_from(ITEM_KINDS), min_size=1, unique=True).map(tuple),
        projects=st.lists(st.sampled_from(["atlas", "borealis"]), unique=True).map(tuple),
    ),
    max_size=4,
)


@given(
    autonomy=st.dictionaries(
        st.sampled_from(SIDE_EFFECT_ACTIONS), st.sampled_from(AUTONOMY_LEVELS)
    ),
    sharing=rules,
    queue=st.booleans(),
)
def test_a_policy_survives_being_stored(
    autonomy: dict[str, str], sharing: list[SharingRule], queue: bool
) -> None:
    policy = Policy("maya", autonomy, tuple(sharing), queue, 0.9)
    assert Policy.from_dict("maya", policy.as_dict()) == policy


def test_anything_with_side_effects_asks_first_by_default() -> None:
    policy = Policy("maya")
    assert {policy.level(action) for action in SIDE_EFFECT_ACTIONS} == {"ask"}
    assert policy.queue_declined


def test_the_first_sharing_rule_that_names_the_asker_wins() -> None:
    policy = Policy.from_dict(
        "maya",
        {
            "sharing": [
                {"who": ["person:ravi"], "kinds": ["document"]},
                {"who": "group:engineering"},
            ]
        },
    )
    assert policy.rule_for({"person:ravi", "group:engineering"}).kinds == ("document",)  # type: ignore[union-attr]
    assert policy.rule_for({"person:lena", "group:engineering"}).kinds == ITEM_KINDS  # type: ignore[union-attr]
    assert policy.rule_for({"person:omar", "group:sales"}) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"autonomy": {"send": "always"}}, "autonomy for 'send' is 'always'; use one of"),
        ({"sharing": [{"kinds": ["email"]}]}, "sharing[0]: missing 'who'"),
        ({"sharing": [{"who": "group:hr", "kinds": ["fax"]}]}, "sharing[0]: unknown kind 'fax'"),
        ({"precision": 1.5}, "precision 1.5 must be in [0.5, 1)"),
        ({"autonomy": ["send"]}, "autonomy must map action types to levels"),
    ],
)
def test_a_wrong_field_is_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as refused:
        Policy.from_dict("maya", data)
    assert message in str(refused.value)


def test_no_is_no_even_when_written_as_text() -> None:
    assert Policy.from_dict("maya", {"queue_declined": "false"}).queue_declined is False
