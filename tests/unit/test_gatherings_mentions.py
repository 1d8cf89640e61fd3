"""Reminder mentions split across messages within Discord's limits."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelbot.gatherings.fanout import CONTENT_LIMIT, MENTIONS_PER_MESSAGE, split_mentions

SNOWFLAKES = st.integers(min_value=10**16, max_value=2**63 - 1)


def mentions_in(message: str) -> list[int]:
    return [int(found) for found in re.findall(r"<@(\d+)>", message)]


def test_a_few_members_fit_in_one_message_under_the_header() -> None:
    assert split_mentions("⏰ soon", [1, 2]) == ["⏰ soon\n<@1> <@2>"]


def test_no_members_still_posts_the_header() -> None:
    assert split_mentions("⏰ soon", []) == ["⏰ soon"]


def test_many_members_go_in_messages_of_at_most_the_mention_cap() -> None:
    ids = list(range(10**17, 10**17 + 120))
    messages = split_mentions("⏰ soon", ids)
    assert [len(mentions_in(m)) for m in messages] == [50, 50, 20]
    assert messages[0].startswith("⏰ soon\n")


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.text(alphabet=st.characters(blacklist_characters="<"), min_size=1, max_size=2100),
    ids=st.lists(SNOWFLAKES, max_size=160, unique=True),
)
def test_every_member_is_mentioned_once_in_order_within_the_limits(header: str, ids: list[int]) -> None:
    messages = split_mentions(header, ids)
    assert messages[0].startswith(header[:CONTENT_LIMIT])
    assert all(len(m) <= CONTENT_LIMIT for m in messages)
    assert all(len(mentions_in(m)) <= MENTIONS_PER_MESSAGE for m in messages)
    assert [user for m in messages for user in mentions_in(m)] == ids
