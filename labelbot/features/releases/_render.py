"""What release messages look like. The preview and the announcement are both built by `announcement()`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import discord

from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.features.releases._parsing import format_duration
from labelbot.guilds.models import DEFAULT_TEASER_OFFSETS_MINUTES
from labelbot.registry import SettingDefault
from labelbot.text import clip, defuse, plain
from labelbot.timeparse import format_dt
from labelbot.ui.layout import MAX_TEXT, controls_row, link_rows

TRACKLIST_LINES = 12
FIELD_MAX = 1024
# Text Display room kept beside the card, the same for the post and its preview so the two stay identical:
# an intro or request line before it (LINE_MAX each, two at most), a status note after it, an outcome line
# added later ("Approved by ...").
LINE_MAX = 400
NOTE_ROOM = 1300
COLOUR = discord.Colour.from_rgb(233, 84, 32)
CANCELLED_COLOUR = discord.Colour.dark_grey()
LATE_LINE = "-# Posted late: I was offline at the release time."


@dataclass
class Post:
    """One release card (Components V2): the line that pings, the card, its link buttons, and whom it may ping.

    Built fresh by `layout()` for every message, so the preview, the post and the mod-log request are one layout.
    """

    headline: str
    heading: str
    facts: list[str]
    description: str | None = None
    tracklist: str | None = None
    cover_url: str | None = None
    # An announcement shows the cover large (a gallery); a teaser as a thumbnail beside the text.
    cover_large: bool = True
    footer: str = ""
    accent: int | None = None
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

    def card(self, room: int = MAX_TEXT) -> discord.ui.Container[Any]:
        """The release itself: cover, title, artist and kind, time, description, tracklist, links.

        `room` is how much Text Display the card may hold; the description gives way first.
        """
        top = "\n".join([f"## {self.heading}", *self.facts])
        footer = f"-# {self.footer}" if self.footer else ""
        fixed = len(top) + len(self.tracklist or "") + len(footer)
        description = clip(self.description, max(room - fixed, 0)) if self.description else None
        container: discord.ui.Container[Any] = discord.ui.Container(accent_colour=self.accent)
        if self.cover_url and not self.cover_large:
            container.add_item(discord.ui.Section(top, accessory=discord.ui.Thumbnail(self.cover_url)))
        else:
            container.add_item(discord.ui.TextDisplay(top))
        if self.cover_url and self.cover_large:
            container.add_item(discord.ui.MediaGallery(discord.MediaGalleryItem(self.cover_url)))
        if description:
            container.add_item(discord.ui.TextDisplay(description))
        if self.tracklist:
            container.add_item(discord.ui.Separator())
            container.add_item(discord.ui.TextDisplay(self.tracklist))
        if footer:
            container.add_item(discord.ui.TextDisplay(footer))
        for row in link_rows(self.links):
            container.add_item(row)
        return container

    def layout(
        self,
        *,
        before: Iterable[str] = (),
        after: Iterable[discord.ui.Item[Any]] = (),
        controls: Iterable[discord.ui.Item[Any]] = (),
    ) -> discord.ui.LayoutView:
        """The message: lines before the card (an intro, a request), the card, notes after it, then controls."""
        view = discord.ui.LayoutView(timeout=None)
        for line in [*(clip(line, LINE_MAX) for line in before), self.headline]:
            if line:
                view.add_item(discord.ui.TextDisplay(line))
        view.add_item(self.card(MAX_TEXT - NOTE_ROOM - len(self.headline)))
        for item in after:
            view.add_item(item)
        row = controls_row(controls)
        if row is not None:
            view.add_item(row)
        return view


def tracklist_summary(release: Release) -> tuple[str, str] | None:
    """The tracklist: a name with the count and running time, and the first tracks."""
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
    accent: int | None = None,
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
    summary = tracklist_summary(release)
    return Post(
        headline="\n".join(lines),
        heading=("Cancelled: " if cancelled else "") + plain(clip(release.title, 200)),
        facts=[
            f"**{plain(clip(artist_name, 100))}** · {kind}",
            f"Out {format_dt(release.release_at, 'F')} ({format_dt(release.release_at, 'R')})",
        ],
        description=defuse(release.description) if release.description else None,
        tracklist=f"**{summary[0]}**\n{summary[1]}" if summary is not None else None,
        cover_url=release.cover_url,
        footer=f"Release #{release.id}",
        accent=CANCELLED_COLOUR.value if cancelled else (accent if accent is not None else COLOUR.value),
        links=[] if cancelled else [(link.label, link.url) for link in release.links],
        role_ids=[] if cancelled else role_ids,
    )


def teaser(release: Release, *, artist_name: str, accent: int | None = None) -> Post:
    """A silent countdown before the release: no pings, a relative timestamp, the cover as a thumbnail."""
    kind = release.release_kind.label
    return Post(
        headline=f"Coming {format_dt(release.release_at, 'R')}: **{plain(release.title)}** by **{plain(artist_name)}**",
        heading=plain(clip(release.title, 200)),
        facts=[
            f"{kind} by **{plain(clip(artist_name, 100))}**",
            f"Out {format_dt(release.release_at, 'R')}, {format_dt(release.release_at, 'F')}",
        ],
        cover_url=release.cover_url,
        cover_large=False,
        footer=f"Release #{release.id}",
        accent=accent if accent is not None else COLOUR.value,
    )


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


# This feature's own server settings and what a new server starts with (registered in cog_load).
SETTING_DEFAULTS = (
    SettingDefault("release_approval", False, "Releases wait for a moderator's approval"),
    SettingDefault("teaser_offsets_minutes", list(DEFAULT_TEASER_OFFSETS_MINUTES), "Release teasers (minutes before)"),
    SettingDefault("announce_cooldown_minutes", 60, "Announce-now cooldown (minutes)"),
)
