"""The release catalogue's read-only queries, on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseLink, ReleaseStatus, ReleaseTrack
from labelbot.catalog.queries import get_release, releases_since, search_releases, upcoming_releases
from labelbot.db.base import utcnow

GUILD = 10


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    now = utcnow()
    async with sessionmaker.begin() as session:
        nova = Artist(guild_id=GUILD, name="Nova Lights", name_key="nova lights", created_by=1)
        other = Artist(guild_id=GUILD + 1, name="Elsewhere", name_key="elsewhere", created_by=1)
        session.add_all([nova, other])
        await session.flush()

        def release(title: str, hours: float, status: ReleaseStatus, artist: Artist = nova) -> Release:
            made = Release(
                guild_id=artist.guild_id,
                artist_id=artist.id,
                title=title,
                kind="single",
                release_at=now + timedelta(hours=hours),
                zone="UTC",
                status=str(status),
                created_by=1,
                announced_late=False,
            )
            session.add(made)
            return made

        ids = {
            "soon": release("Night Drive", 2, ReleaseStatus.SCHEDULED),
            "later": release("Afterglow", 48, ReleaseStatus.SCHEDULED),
            "past": release("First Light", -24, ReleaseStatus.ANNOUNCED),
            "draft": release("Unfinished", 5, ReleaseStatus.DRAFT),
            "cancelled": release("Scrapped", 6, ReleaseStatus.CANCELLED),
            "elsewhere": release("Night Drive", 3, ReleaseStatus.SCHEDULED, other),
        }
        ids["later"].tracks = [
            ReleaseTrack(position=2, title="Two", duration_seconds=200),
            ReleaseTrack(position=1, title="One", duration_seconds=100),
        ]
        ids["later"].links = [ReleaseLink(position=1, label="Bandcamp", url="https://nova.bandcamp.com/")]
        for made in ids.values():
            if made is not ids["later"]:
                made.tracks, made.links = [], []
        await session.flush()
        return {name: made.id for name, made in ids.items()}


async def test_get_release_loads_its_tracklist_in_order(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker() as session:
        release = await get_release(session, ids["later"], GUILD)
        assert release is not None
        assert [track.title for track in release.tracks] == ["One", "Two"]
        assert [link.label for link in release.links] == ["Bandcamp"]
        assert release.artist.name == "Nova Lights"
        assert await get_release(session, ids["elsewhere"], GUILD) is None  # another server's


async def test_search_finds_public_releases_by_title_or_artist(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker() as session:
        everything = await search_releases(session, GUILD, "")
        assert [r.id for r in everything] == [ids["past"], ids["soon"], ids["later"]]
        assert [r.id for r in await search_releases(session, GUILD, "night")] == [ids["soon"]]
        assert len(await search_releases(session, GUILD, "NOVA")) == 3
        assert [r.id for r in await search_releases(session, GUILD, "", upcoming_only=True)] == [
            ids["soon"],
            ids["later"],
        ]
        assert len(await search_releases(session, GUILD, "", limit=1)) == 1
        assert await search_releases(session, GUILD, "100%_") == []
        found = (await search_releases(session, GUILD, "after"))[0]
        assert [track.title for track in found.tracks] == ["One", "Two"]


async def test_upcoming_and_calendar_listings(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker() as session:
        assert [r.id for r in await upcoming_releases(session, GUILD)] == [ids["soon"], ids["later"]]
        assert [r.id for r in await upcoming_releases(session, GUILD, offset=1)] == [ids["later"]]
        since = utcnow() - timedelta(days=2)
        listed = [r.id for r in await releases_since(session, GUILD, since)]
        assert listed == [ids["past"], ids["soon"], ids["cancelled"], ids["later"]]


async def test_search_text_with_nul_finds_nothing_instead_of_failing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as session:
        assert await search_releases(session, GUILD, "\x00zzz") == []
        assert len(await search_releases(session, GUILD, "\x00")) == 3


async def test_a_release_list_page_is_two_queries(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """On SQLite's one connection every extra query of a list queues everyone's clicks behind it."""
    ids = await _seed(sessionmaker)
    selects: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        async with sessionmaker() as session:
            page = await upcoming_releases(session, GUILD)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert [(r.id, r.artist.name) for r in page] == [(ids["soon"], "Nova Lights"), (ids["later"], "Nova Lights")]
    assert len(selects) == 2, selects  # the page, its artists
