"""What release messages look like. The preview and the announcement are both built by `announcement()`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.catalog.models import Release, ReleaseStatus
from bot.text import clip, defuse, plain
from bot.timeparse import format_dt
from cogs.releases._parsing import format_duration

TRACKLIST_LINES = 12
FIELD_MAX = 1024
COLOUR = discord.Colour.from_rgb(233, 84, 32)
CANCELLED_COLOUR = discord.Colour.dark_grey()
LATE_LINE = "-# Posted late: I was offline at the release time."


@dataclass
class Post:
    """One message: content, embed, link buttons, and exactly whom it may ping."""

    content: str
    embed: discord.Embed
    links: list[tuple[str, str]] = field(default_factory=list)
    role_ids: list[int] = field(default_factory=list)

    @property
    def allowed_mentions(self) -> discord.AllowedMentions:
        return discord.AllowedMentions(
            everyone=False,
            users=False,
            roles=[discord.Object(id=role_id) for role_id in self.role_ids],
            replied_user=False,
        )

    def view(self, extra: Iterable[discord.ui.Item[Any]] = ()) -> discord.ui.View | None:
        """Link buttons (two rows of five at most) and any controls after them."""
        view = discord.ui.View(timeout=None)
        for index, (label, url) in enumerate(self.links):
            view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=url, row=index // 5))
        for item in extra:
            view.add_item(item)
        return view if view.children else None


def tracklist_summary(release: Release) -> tuple[str, str] | None:
    """The tracklist field: a name with the count and running time, and the first tracks."""
    tracks = release.tracks
    if not tracks:
        return None
    total = sum(track.duration_seconds or 0 for track in tracks)
    count = "1 track" if len(tracks) == 1 else f"{len(tracks)} tracks"
    name = f"Tracklist ({count}, {format_duration(total)})" if total else f"Tracklist ({count})"
    lines: list[str] = []
    for index, track in enumerate(tracks, start=1):
        duration = f" · {format_duration(track.duration_seconds)}" if track.duration_seconds else ""
        lines.append(f"{index}. {clip(plain(track.title), 80)}{duration}")
    shown = lines[:TRACKLIST_LINES]
    rest = len(lines) - len(shown)
    while True:
        text = "\n".join(shown) + (f"\n… and {rest} more" if rest else "")
        if len(text) <= FIELD_MAX:
            return name, text
        shown.pop()
        rest += 1


def announcement(
    release: Release,
    *,
    artist_name: str,
    fan_role_id: int | None,
    all_releases_role_id: int | None,
    late: bool = False,
) -> Post:
    """The announcement of a release, exactly as posted (and as previewed); tracks and links must be loaded."""
    kind = release.release_kind.label
    cancelled = release.status == ReleaseStatus.CANCELLED
    role_ids = [role_id for role_id in (fan_role_id, all_releases_role_id) if role_id is not None]
    role_ids = list(dict.fromkeys(role_ids))
    pings = " ".join(f"<@&{role_id}>" for role_id in role_ids)
    headline = f"New {kind.lower() if kind != 'EP' else kind} from **{plain(artist_name)}**: **{plain(release.title)}**"
    if cancelled:
        headline = f"~~{headline}~~\n**This release was cancelled.**"
    lines = [f"{pings} {headline}" if pings else headline]
    if late and not cancelled:
        lines.append(LATE_LINE)
    embed = discord.Embed(
        title=("Cancelled: " if cancelled else "") + defuse(release.title),
        description=clip(defuse(release.description), 4000) if release.description else None,
        colour=CANCELLED_COLOUR if cancelled else COLOUR,
        url=release.links[0].url if release.links and not cancelled else None,
    )
    embed.set_author(name=clip(defuse(artist_name), 256))
    embed.add_field(name="Kind", value=kind)
    embed.add_field(name="Out", value=f"{format_dt(release.release_at, 'F')} ({format_dt(release.release_at, 'R')})")
    summary = tracklist_summary(release)
    if summary is not None:
        embed.add_field(name=summary[0], value=summary[1], inline=False)
    if release.cover_url:
        embed.set_image(url=release.cover_url)
    embed.set_footer(text=f"Release #{release.id}")
    links = [] if cancelled else [(link.label, link.url) for link in release.links]
    return Post(content="\n".join(lines), embed=embed, links=links, role_ids=[] if cancelled else role_ids)


def teaser(release: Release, *, artist_name: str) -> Post:
    """A silent countdown before the release: no pings, a relative timestamp."""
    kind = release.release_kind.label
    embed = discord.Embed(
        title=defuse(release.title),
        description=f"{kind} by **{plain(artist_name)}**\nOut {format_dt(release.release_at, 'R')}, "
        f"{format_dt(release.release_at, 'F')}",
        colour=COLOUR,
    )
    embed.set_author(name=clip(defuse(artist_name), 256))
    if release.cover_url:
        embed.set_thumbnail(url=release.cover_url)
    embed.set_footer(text=f"Release #{release.id}")
    content = f"Coming {format_dt(release.release_at, 'R')}: **{plain(release.title)}** by **{plain(artist_name)}**"
    return Post(content=content, embed=embed)


def status_line(release: Release) -> str:
    """One line saying where the release is, for previews and /release info."""
    status = release.release_status
    when = f"{format_dt(release.release_at, 'F')} ({format_dt(release.release_at, 'R')})"
    if status is ReleaseStatus.DRAFT:
        text = f"Draft, not scheduled yet; it would go out {when}."
        if release.rejection_reason:
            text += f"\nA moderator sent it back: {clip(defuse(release.rejection_reason), 500)}"
        return text
    if status is ReleaseStatus.AWAITING_APPROVAL:
        return f"Waiting for a moderator's approval; it would go out {when}."
    if status is ReleaseStatus.SCHEDULED:
        return f"Scheduled for {when}."
    if status is ReleaseStatus.ANNOUNCED:
        return f"Announced {format_dt(release.announced_at or release.release_at, 'R')}."
    return "Cancelled."


def list_embed(releases: list[Release], page: int, pages: int) -> discord.Embed:
    """One page of /release list."""
    embed = discord.Embed(title="Upcoming releases", colour=COLOUR)
    if not releases:
        embed.description = "Nothing is scheduled yet."
        return embed
    lines = [
        f"**{plain(release.title)}** by {plain(release.artist.name)} · {release.release_kind.label} · "
        f"{format_dt(release.release_at, 'F')} ({format_dt(release.release_at, 'R')}) · #{release.id}"
        for release in releases
    ]
    embed.description = clip("\n".join(lines), 4000)
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed


# How the release actions read in the mod log and /settings audit.
AUDIT_TITLES = {
    "release.create": "Release drafted",
    "release.submit": "Release submitted for approval",
    "release.schedule": "Release scheduled",
    "release.approve": "Release approved",
    "release.reject": "Release rejected",
    "release.edit": "Release edited",
    "release.edit_held": "Release change held for approval",
    "release.approve_edit": "Held release change approved",
    "release.reject_edit": "Held release change rejected",
    "release.cancel": "Release cancelled",
    "release.discard": "Release draft discarded",
    "release.announce_now": "Release announced early",
}
