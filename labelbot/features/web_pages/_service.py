"""What the web pages show, as plain data, and the dashboard's sign-in; the caller owns the session."""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release, ReleaseKind, ReleaseStatus
from labelbot.dashboard import BarFigures, DashboardSections, DashboardTable, LineFigures
from labelbot.db.base import utcnow
from labelbot.features.web_pages import _repository as repo
from labelbot.features.web_pages._charts import Chart, bar_chart, line_chart
from labelbot.gatherings.models import Answer, Gathering
from labelbot.jobs import JobStatus
from labelbot.models.web_pages import DashboardLink, DashboardSession

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=4)
TOKEN_BYTES = 32
# The dashboard looks this far back at gatherings.
LOOK_BACK = timedelta(days=90)

# Whether fans can read a channel: (server id, channel id) -> True/False. Parties and events posted where
# @everyone cannot look (a staff channel) stay off the public page.
ChannelIsPublic = Callable[[int, int | None], bool]


# -- the public page --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicLink:
    label: str
    url: str


@dataclass(frozen=True)
class PublicRelease:
    id: int
    title: str
    kind: str
    artist_id: int
    artist: str
    release_at: datetime
    zone: str
    cover_url: str | None
    description: str | None
    links: tuple[PublicLink, ...]
    announced: bool
    announced_at: datetime | None
    updated_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "artist": {"id": self.artist_id, "name": self.artist},
            "release_at": self.release_at.isoformat(),
            "zone": self.zone,
            "cover_url": self.cover_url,
            "description": self.description,
            "links": [{"label": link.label, "url": link.url} for link in self.links],
            "announced": self.announced,
        }


@dataclass(frozen=True)
class PublicGathering:
    id: int
    kind: str  # "party" or "event"
    title: str
    starts_at: datetime
    ends_at: datetime
    zone: str
    updated_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "zone": self.zone,
        }


@dataclass(frozen=True)
class PublicArtist:
    id: int
    name: str
    bio: str | None
    genres: tuple[str, ...]
    links: tuple[PublicLink, ...]
    upcoming: tuple[PublicRelease, ...]
    catalogue: tuple[PublicRelease, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "bio": self.bio,
            "genres": list(self.genres),
            "links": [{"label": link.label, "url": link.url} for link in self.links],
            "releases": [release.id for release in (*self.upcoming, *self.catalogue)],
        }


@dataclass(frozen=True)
class LabelPage:
    """Everything the public page shows of one server: only what fans can already see in Discord."""

    guild_id: int
    name: str
    upcoming: tuple[PublicRelease, ...]
    parties: tuple[PublicGathering, ...]
    events: tuple[PublicGathering, ...]
    artists: tuple[PublicArtist, ...]
    last_modified: datetime

    @property
    def announced(self) -> list[PublicRelease]:
        """Announced releases, newest first (the Atom feed)."""
        released = [release for artist in self.artists for release in artist.catalogue]
        return sorted(released, key=lambda r: (r.announced_at or r.release_at, r.id), reverse=True)

    def artist(self, artist_id: int) -> PublicArtist | None:
        return next((artist for artist in self.artists if artist.id == artist_id), None)

    def as_json(self) -> dict[str, object]:
        return {
            "label": self.name,
            "upcoming_releases": [release.as_json() for release in self.upcoming],
            "listening_parties": [party.as_json() for party in self.parties],
            "events": [event.as_json() for event in self.events],
            "announced_releases": [release.as_json() for release in self.announced],
            "artists": [artist.as_json() for artist in self.artists],
            "updated": self.last_modified.isoformat(),
        }


def _kind_label(kind: str) -> str:
    try:
        return ReleaseKind(kind).label
    except ValueError:
        return kind


def _links(raw: list[dict[str, str]]) -> tuple[PublicLink, ...]:
    return tuple(
        PublicLink(str(link.get("label") or link.get("url")), str(link["url"]))
        for link in raw
        if str(link.get("url", "")).startswith(("https://", "http://"))
    )


async def label_page(
    session: AsyncSession, guild_id: int, name: str, is_public: ChannelIsPublic, now: datetime | None = None
) -> LabelPage:
    """Read the public page of a server (the caller checked that the server publishes one)."""
    now = now or utcnow()
    artists = await repo.roster(session, guild_id)
    releases = await repo.public_releases(session, guild_id)
    links = await repo.links_of(session, [release.id for release in releases])
    names = {artist.id: artist.name for artist in artists}
    stamps = [now - timedelta(days=3650)]

    def public(release: Release) -> PublicRelease:
        stamps.append(release.updated_at)
        return PublicRelease(
            id=release.id,
            title=release.title,
            kind=_kind_label(release.kind),
            artist_id=release.artist_id,
            artist=names.get(release.artist_id, ""),
            release_at=release.release_at,
            zone=release.zone,
            cover_url=release.cover_url,
            description=release.description,
            links=tuple(PublicLink(link.label, link.url) for link in links[release.id]),
            announced=release.status == ReleaseStatus.ANNOUNCED,
            announced_at=release.announced_at,
            updated_at=release.updated_at,
        )

    shown = [public(release) for release in releases]
    gatherings: list[Gathering] = [
        gathering
        for gathering in await repo.upcoming_gatherings(session, guild_id, now)
        if gathering.kind in ("party", "event") and is_public(guild_id, gathering.card_channel_id)
    ]
    stamps.extend(gathering.updated_at for gathering in gatherings)
    stamps.extend(artist.updated_at for artist in artists)
    public_gatherings = [
        PublicGathering(g.id, g.kind, g.title, g.starts_at, g.ends_at, g.zone, g.updated_at) for g in gatherings
    ]
    return LabelPage(
        guild_id=guild_id,
        name=name,
        upcoming=tuple(release for release in shown if not release.announced),
        parties=tuple(g for g in public_gatherings if g.kind == "party"),
        events=tuple(g for g in public_gatherings if g.kind == "event"),
        artists=tuple(
            PublicArtist(
                id=artist.id,
                name=artist.name,
                bio=artist.bio,
                genres=tuple(artist.genres or ()),
                links=_links(list(artist.links or [])),
                upcoming=tuple(r for r in shown if r.artist_id == artist.id and not r.announced),
                catalogue=tuple(
                    sorted(
                        (r for r in shown if r.artist_id == artist.id and r.announced),
                        key=lambda r: r.release_at,
                        reverse=True,
                    )
                ),
            )
            for artist in artists
        ),
        last_modified=max(stamps).replace(microsecond=0),
    )


# -- the dashboard's sign-in ------------------------------------------------------------------------------------


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(session: AsyncSession, guild_id: int, user_id: int, now: datetime | None = None) -> str:
    """A fresh single-use sign-in token for a moderator; only its digest is stored."""
    now = now or utcnow()
    await repo.forget_expired(session, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        DashboardLink(token_digest=digest(token), guild_id=guild_id, user_id=user_id, expires_at=now + LINK_LIFETIME)
    )
    await session.flush()
    return token


async def link_usable(session: AsyncSession, token: str, now: datetime | None = None) -> bool:
    link = await session.get(DashboardLink, digest(token))
    return link is not None and link.used_at is None and link.expires_at > (now or utcnow())


async def open_session(session: AsyncSession, token: str, now: datetime | None = None) -> tuple[str, int] | None:
    """Spend a sign-in link on a session: (session token, server id), or None when the link is spent or expired."""
    now = now or utcnow()
    link = await repo.redeem_link(session, digest(token), now)
    if link is None:
        return None
    cookie = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        DashboardSession(
            token_digest=digest(cookie), guild_id=link.guild_id, user_id=link.user_id, expires_at=now + SESSION_LIFETIME
        )
    )
    await session.flush()
    return cookie, link.guild_id


async def session_guild(session: AsyncSession, cookie: str | None, now: datetime | None = None) -> int | None:
    """The server a dashboard cookie may read, or None."""
    if not cookie:
        return None
    found = await repo.live_session(session, digest(cookie), now or utcnow())
    return found.guild_id if found is not None else None


# -- the dashboard's figures ------------------------------------------------------------------------------------

# A table of the dashboard is the registry's plain table; the page draws it and serves it as CSV.
Table = DashboardTable


@dataclass
class Section:
    title: str
    charts: list[Chart]
    tables: list[Table]
    note: str | None = None


def _drawn(figures: BarFigures | LineFigures) -> Chart:
    if isinstance(figures, BarFigures):
        return bar_chart(figures.title, figures.values)
    return line_chart(figures.title, figures.labels, figures.series)


async def dashboard(
    session: AsyncSession, guild_id: int, sections: DashboardSections, now: datetime | None = None
) -> list[Section]:
    """Every section of the moderators' dashboard, read in one session: the core's, then each feature's."""
    now = now or utcnow()
    found = [
        await _pipeline(session, guild_id),
        await _jobs(session, guild_id),
        await _gatherings(session, guild_id, now),
    ]
    for section in await sections.collect(session, guild_id, now):
        found.append(
            Section(section.title, [_drawn(figures) for figures in section.charts], section.tables, section.note)
        )
    return found


async def _pipeline(session: AsyncSession, guild_id: int) -> Section:
    rows = await repo.pipeline(session, guild_id)
    counts = Counter(release.status for release, _ in rows)
    order = [ReleaseStatus.DRAFT, ReleaseStatus.AWAITING_APPROVAL, ReleaseStatus.SCHEDULED, ReleaseStatus.ANNOUNCED]
    chart = bar_chart("Releases by stage", [(status.label, counts.get(status, 0)) for status in order])
    table = Table(
        "releases",
        "Releases",
        ["Release", "Artist", "Kind", "Stage", "Release date (UTC)", "Zone"],
        [
            [
                release.title,
                artist,
                _kind_label(release.kind),
                ReleaseStatus(release.status).label,
                release.release_at.strftime("%Y-%m-%d %H:%M"),
                release.zone,
            ]
            for release, artist in rows
        ],
    )
    return Section("Release pipeline", [chart], [table])


async def _jobs(session: AsyncSession, guild_id: int) -> Section:
    counts = await repo.job_counts(session, guild_id)
    by_status = Counter[str]()
    for _, status, count in counts:
        by_status[status] += count
    statuses = [JobStatus.PENDING, JobStatus.CLAIMED, JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED]
    chart = bar_chart("Scheduled jobs by state", [(str(status), by_status.get(status, 0)) for status in statuses])
    summary = Table("jobs", "Scheduled jobs", ["Kind", "State", "Jobs"], [[k, s, c] for k, s, c in counts])
    failures = Table(
        "failures",
        "Failed jobs",
        ["Kind", "Due (UTC)", "Attempts", "Last error"],
        [
            [job.kind, job.due_at.strftime("%Y-%m-%d %H:%M"), job.attempts, (job.last_error or "")[:300]]
            for job in await repo.failed_jobs(session, guild_id)
        ],
    )
    return Section("Scheduled work", [chart], [summary, failures])


async def _gatherings(session: AsyncSession, guild_id: int, now: datetime) -> Section:
    """RSVPs of every party and event of the last 90 days (check-ins and ratings: the parties' own section)."""
    gatherings = await repo.gatherings_since(session, guild_id, now - LOOK_BACK)
    answers = await repo.rsvp_counts(session, [gathering.id for gathering in gatherings])
    rows: list[list[object]] = []
    totals = Counter[str]()
    for gathering in gatherings:
        going = answers.get((gathering.id, Answer.GOING), 0)
        maybe = answers.get((gathering.id, Answer.MAYBE), 0) + answers.get((gathering.id, Answer.REMIND), 0)
        totals[gathering.kind] += going
        rows.append(
            [
                gathering.kind,
                gathering.title,
                gathering.starts_at.strftime("%Y-%m-%d %H:%M"),
                "cancelled" if gathering.cancelled else "",
                going,
                maybe,
            ]
        )
    chart = bar_chart("Going, by kind (last 90 days)", [("parties", totals["party"]), ("events", totals["event"])])
    table = Table(
        "gatherings",
        "Parties and events",
        ["Kind", "Title", "Starts (UTC)", "Cancelled", "Going", "Maybe / remind me"],
        rows,
    )
    return Section("Parties and events", [chart], [table])
