"""What release posts look like: within Discord's limits, pinging exactly the fans, defusing member text."""

# frozen clock: rendering shows the instant it is given; nothing reads now.

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord

from labelbot.catalog.models import Release, ReleaseLink, ReleaseStatus, ReleaseTrack
from labelbot.features.releases._render import LATE_LINE, announcement, teaser
from tests.fakediscord.validation import validate

AT = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


def make_release(*, tracks: int = 3, links: int = 2, title: str = "Afterglow", **values: object) -> Release:
    values = {"description": "Our second EP.", **values}
    release = Release(
        id=7,
        guild_id=1,
        artist_id=2,
        title=title,
        kind="ep",
        release_at=AT,
        zone="Europe/Berlin",
        status=str(ReleaseStatus.SCHEDULED),
        created_by=3,
        **values,
    )
    release.tracks = [
        ReleaseTrack(position=n, title=f"Track {n}", duration_seconds=200 + n) for n in range(1, tracks + 1)
    ]
    release.links = [
        ReleaseLink(position=n, label=f"Shop {n}", url=f"https://example.org/{n}") for n in range(1, links + 1)
    ]
    return release


def payload(view: discord.ui.LayoutView) -> dict[str, Any]:
    """The message body discord.py sends for the layout."""
    return {"components": view.to_components(), "flags": 1 << 15}


def texts(view: discord.ui.LayoutView) -> list[str]:
    return [item.content for item in view.walk_children() if isinstance(item, discord.ui.TextDisplay)]


def card_of(view: discord.ui.LayoutView) -> dict[str, Any]:
    return next(c for c in view.to_components() if c["type"] == 17)


def test_announcement_pings_the_fans_and_the_all_releases_role_only() -> None:
    post = announcement(make_release(), artist_name="Nova Lights", fan_role_id=11, all_releases_role_id=22)
    assert texts(post.layout())[0].startswith("<@&11> <@&22> ")
    mentions = post.allowed_mentions.to_dict()
    assert mentions["parse"] == []
    assert sorted(int(role) for role in mentions["roles"]) == [11, 22]
    assert "users" not in mentions or mentions["users"] == []


def test_no_roles_set_means_no_pings() -> None:
    post = announcement(make_release(), artist_name="Nova Lights", fan_role_id=None, all_releases_role_id=None)
    assert "<@&" not in "".join(texts(post.layout()))
    assert post.allowed_mentions.to_dict().get("roles", []) == []
    same = announcement(make_release(), artist_name="Nova Lights", fan_role_id=5, all_releases_role_id=5)
    assert same.role_ids == [5]


def test_the_card_shows_the_release() -> None:
    post = announcement(
        make_release(cover_url="https://cdn.example.org/c.png"),
        artist_name="Nova",
        fan_role_id=1,
        all_releases_role_id=None,
        accent=0x123456,
    )
    view = post.layout()
    text = "\n".join(texts(view))
    assert "## Afterglow" in text
    assert "**Nova** · EP" in text
    assert "<t:1796403600:F>" in text
    assert "<t:1796403600:R>" in text
    assert "**Tracklist (3 tracks, 10:06)**" in text
    card = card_of(view)
    assert card["accent_color"] == 0x123456
    gallery = next(c for c in card["components"] if c["type"] == 12)
    assert gallery["items"][0]["media"]["url"] == "https://cdn.example.org/c.png"
    buttons = [b for c in card["components"] if c["type"] == 1 for b in c["components"]]
    assert [(b["label"], b["url"]) for b in buttons] == [
        ("Shop 1", "https://example.org/1"),
        ("Shop 2", "https://example.org/2"),
    ]
    assert validate("POST", "/channels/{channel_id}/messages", payload(view)) == []


def test_the_biggest_release_stays_inside_discords_limits() -> None:
    release = make_release(tracks=60, links=10, title="T" * 100, description="D" * 2000)
    for track in release.tracks:
        track.title = "x" * 200
    post = announcement(release, artist_name="A" * 100, fan_role_id=1, all_releases_role_id=2, late=True)
    # The biggest message it is part of: the mod-log request, with a long request line and an outcome added later.
    view = post.layout(before=["R" * 1000], controls=[discord.ui.Button(label="Approve", custom_id="a")])
    view.add_item(discord.ui.TextDisplay("**Approved** by someone; it goes out soon." + "x" * 200))
    assert sum(map(len, texts(view))) <= 4000
    assert view.total_children_count <= 40
    assert validate("POST", "/channels/{channel_id}/messages", payload(view)) == []
    tracklist = next(t for t in texts(view) if t.startswith("**Tracklist"))
    assert len(tracklist) <= 1100
    assert "more" in tracklist
    rows = [c for c in card_of(view)["components"] if c["type"] == 1]
    assert [len(row["components"]) for row in rows] == [5, 5]  # two rows of five links


def test_a_card_over_the_limits_is_refused_by_the_fake() -> None:
    """The fake enforces Discord's V2 limits, so the test above can fail."""
    too_long = discord.ui.LayoutView()
    for _ in range(3):
        too_long.add_item(discord.ui.TextDisplay("x" * 1500))
    assert validate("POST", "/channels/{channel_id}/messages", payload(too_long))
    mixed = {**payload(too_long), "content": "hello"}
    assert any(
        e[1] == "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"
        for e in validate("POST", "/channels/{channel_id}/messages", mixed)
    )
    legacy = {"components": [{"type": 10, "content": "no flag"}]}
    assert validate("POST", "/channels/{channel_id}/messages", legacy)


def test_member_text_renders_but_cannot_ping() -> None:
    release = make_release(title="@everyone <@123456789012345678>", description="@here <@&123456789012345678>")
    post = announcement(release, artist_name="@everyone", fan_role_id=1, all_releases_role_id=None)
    text = "\n".join(texts(post.layout()))
    assert "@everyone" not in text
    assert "@here" not in text
    assert "<@&123456789012345678>" not in text


def test_late_and_cancelled_lines() -> None:
    late = announcement(make_release(), artist_name="Nova", fan_role_id=1, all_releases_role_id=None, late=True)
    assert LATE_LINE in texts(late.layout())[0]
    cancelled_release = make_release()
    cancelled_release.status = str(ReleaseStatus.CANCELLED)
    cancelled = announcement(cancelled_release, artist_name="Nova", fan_role_id=1, all_releases_role_id=None, late=True)
    shown = texts(cancelled.layout())
    assert "cancelled" in shown[0]
    assert LATE_LINE not in shown[0]
    assert cancelled.links == []
    assert cancelled.role_ids == []
    assert shown[1].startswith("## Cancelled")


def test_teaser_is_a_countdown_without_pings() -> None:
    post = teaser(make_release(cover_url="https://cdn.example.org/c.png"), artist_name="Nova")
    view = post.layout()
    assert "<t:1796403600:R>" in texts(view)[0]
    assert "<@&" not in "".join(texts(view))
    assert post.role_ids == []
    assert post.allowed_mentions.to_dict().get("roles", []) == []
    section = next(c for c in card_of(view)["components"] if c["type"] == 9)
    assert section["accessory"]["media"]["url"] == "https://cdn.example.org/c.png"
    assert validate("POST", "/channels/{channel_id}/messages", payload(view)) == []
