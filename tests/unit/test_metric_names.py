"""Metric labels come from names the bot chose, never from the ids or random parts of a custom_id."""

from __future__ import annotations

import pytest

from labelbot.tree import _stable_prefix


@pytest.mark.parametrize(
    ("custom_id", "name"),
    [
        ("release:cover:123456789012345678", "release:cover"),
        ("fan_roles:toggle:1:2", "fan_roles:toggle"),
        ("collab:profile-skills:42", "collab:profile-skills"),
        ("event:rsvp:99:going", "event:rsvp"),
        ("confirm:a1b2c3d4e5f6:yes", "confirm"),
        ("confirm:deadbeefcafe:yes", "confirm"),
        ("324715236b983fc51361eebe2263c9e3", ""),
        ("abcdefabcdefabcdefabcdefabcdefab", ""),
        ("Release:X", ""),
        ("x" * 100, ""),
    ],
)
def test_only_the_feature_and_action_words_are_kept(custom_id: str, name: str) -> None:
    assert _stable_prefix(custom_id) == name
