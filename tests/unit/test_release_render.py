"""What release posts look like: within Discord's limits, pinging exactly the fans, defusing member text."""

# frozen clock: rendering shows the instant it is given; nothing reads now.

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.catalog.models import Release, ReleaseLink, ReleaseStatus, ReleaseTrack
from cogs.releases._render import LATE_LINE, announcement, teaser

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


def embed_size(embed: discord.Embed) -> int:
    return len(embed)


def test_announcement_pings_the_fans_and_the_all_releases_role_only() -> None:
    post = announcement(make_release(), artist_name="Nova Lights", fan_role_id=11, all_releases_role_id=22)
    assert post.content.startswith("<@&11> <@&22> ")
    mentions = post.allowed_mentions.to_dict()
    assert mentions["parse"] == []
    assert sorted(int(role) for role in mentions["roles"]) == [11, 22]
    assert "users" not in mentions or mentions["users"] == []


def test_no_roles_set_means_no_pings() -> None:
    post = announcement(make_release(), artist_name="Nova Lights", fan_role_id=None, all_releases_role_id=None)
    assert "<@&" not in post.content
    assert post.allowed_mentions.to_dict().get("roles", []) == []
    same = announcement(make_release(), artist_name="Nova Lights", fan_role_id=5, all_releases_role_id=5)
    assert same.role_ids == [5]


def test_the_embed_shows_the_release() -> None:
    post = announcement(
        make_release(cover_url="https://cdn.example.org/c.png"),
        artist_name="Nova",
        fan_role_id=1,
        all_releases_role_id=None,
    )
    embed = post.embed.to_dict()
    assert embed["title"] == "Afterglow"
    assert embed["author"]["name"] == "Nova"
    assert embed["image"]["url"] == "https://cdn.example.org/c.png"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Kind"] == "EP"
    assert "<t:1796403600:F>" in fields["Out"]
    assert "<t:1796403600:R>" in fields["Out"]
    assert "Tracklist (3 tracks, 10:06)" in fields
    assert post.links == [("Shop 1", "https://example.org/1"), ("Shop 2", "https://example.org/2")]


def test_the_biggest_release_stays_inside_discords_limits() -> None:
    release = make_release(tracks=60, links=10, title="T" * 100, description="D" * 2000)
    for track in release.tracks:
        track.title = "x" * 200
    post = announcement(release, artist_name="A" * 100, fan_role_id=1, all_releases_role_id=2, late=True)
    assert len(post.content) <= 2000
    assert embed_size(post.embed) <= 6000
    tracklist = next(field for field in post.embed.fields if (field.name or "").startswith("Tracklist"))
    assert len(tracklist.value or "") <= 1024
    assert "more" in (tracklist.value or "")
    view = post.view()
    assert view is not None
    assert len(view.children) == 10
    assert max(item.row or 0 for item in view.children) == 1  # two rows of five


def test_member_text_renders_but_cannot_ping() -> None:
    release = make_release(title="@everyone <@123456789012345678>", description="@here <@&123456789012345678>")
    post = announcement(release, artist_name="@everyone", fan_role_id=1, all_releases_role_id=None)
    assert "@everyone" not in post.content
    assert "@everyone" not in (post.embed.title or "")
    assert "@here" not in (post.embed.description or "")
    assert "<@&123456789012345678>" not in (post.embed.description or "")


def test_late_and_cancelled_lines() -> None:
    late = announcement(make_release(), artist_name="Nova", fan_role_id=1, all_releases_role_id=None, late=True)
    assert LATE_LINE in late.content
    cancelled_release = make_release()
    cancelled_release.status = str(ReleaseStatus.CANCELLED)
    cancelled = announcement(cancelled_release, artist_name="Nova", fan_role_id=1, all_releases_role_id=None, late=True)
    assert "cancelled" in cancelled.content
    assert LATE_LINE not in cancelled.content
    assert cancelled.links == []
    assert cancelled.role_ids == []
    assert (cancelled.embed.title or "").startswith("Cancelled")


def test_teaser_is_a_countdown_without_pings() -> None:
    post = teaser(make_release(cover_url="https://cdn.example.org/c.png"), artist_name="Nova")
    assert "<t:1796403600:R>" in post.content
    assert "<@&" not in post.content
    assert post.role_ids == []
    assert post.allowed_mentions.to_dict().get("roles", []) == []
    assert post.embed.thumbnail.url == "https://cdn.example.org/c.png"
