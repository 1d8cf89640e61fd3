"""The rules of /artist: what a name, bio, genre list or link list may be, and each change with its audit entry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists import repository
from labelbot.artists.models import BIO_MAX, NAME_MAX, Artist, ArtistManager
from labelbot.audit.service import record
from labelbot.db.base import utcnow
from labelbot.errors import Conflict, InvalidInput, NotFound
from labelbot.links import parse_links as read_links

if TYPE_CHECKING:
    from labelbot.client import LabelBot

GENRES_MAX = 10
GENRE_MAX = 40
LINKS_MAX = 10
LINK_LABEL_MAX = 40
URL_MAX = 300
# Typed into an optional text option to empty it.
CLEAR = "-"

_MENTION = re.compile(r"@(everyone|here)\b|<[@#][!&]?\d+>", re.IGNORECASE)


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_name(name: str) -> str:
    """An artist's name as stored: spaces collapsed; refused when empty, too long or a mention."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("An artist needs a name.")
    if len(cleaned) > NAME_MAX:
        raise InvalidInput(f"An artist's name can be at most {NAME_MAX} characters.")
    if _MENTION.search(cleaned):
        raise InvalidInput("An artist's name can't contain @everyone, @here or mentions.")
    return cleaned


def clean_bio(bio: str) -> str | None:
    """The bio as stored (None when cleared with "-")."""
    text = bio.strip()
    if text == CLEAR or not text:
        return None
    if len(text) > BIO_MAX:
        raise InvalidInput(f"A bio can be at most {BIO_MAX} characters; this one has {len(text)}.")
    return text


_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_colour(text: str) -> int | None:
    """An accent colour written as a hex code like #E95420 ("-" goes back to the label's colour)."""
    tidy = text.strip()
    if tidy == CLEAR:
        return None
    match = _HEX_COLOUR.fullmatch(tidy)
    if match is None:
        raise InvalidInput(f"Write the colour as a hex code like #E95420 (“{_quote(tidy)}” isn't one).")
    return int(match[1], 16)


def parse_genres(text: str) -> list[str]:
    """Comma-separated genres, each once (whatever its case), in the order given ("-" clears them)."""
    if text.strip() == CLEAR:
        return []
    genres: list[str] = []
    seen: set[str] = set()
    for part in text.split(","):
        genre = " ".join(part.split())
        if not genre or genre.casefold() in seen:
            continue
        if len(genre) > GENRE_MAX:
            raise InvalidInput(f"A genre can be at most {GENRE_MAX} characters (“{_quote(genre)}” is longer).")
        seen.add(genre.casefold())
        genres.append(genre)
    if len(genres) > GENRES_MAX:
        raise InvalidInput(f"An artist can have at most {GENRES_MAX} genres.")
    return genres


def parse_links(text: str) -> list[dict[str, str]]:
    """Links as "Label https://…" items, separated by commas or new lines (labelbot.links); "-" clears them.

    Only http and https addresses are accepted, at most LINKS_MAX of them.
    """
    if text.strip() == CLEAR:
        return []
    found = read_links(text, owner="An artist", most=LINKS_MAX, url_max=URL_MAX, label_max=LINK_LABEL_MAX)
    return [{"label": link.label, "url": link.url} for link in found]


@dataclass(frozen=True)
class ArtistDraft:
    """A new artist's profile, checked."""

    name: str
    bio: str | None
    genres: list[str]
    links: list[dict[str, str]]

    @classmethod
    def parse(cls, name: str, bio: str | None, genres: str | None, links: str | None) -> ArtistDraft:
        return cls(
            name=clean_name(name),
            bio=clean_bio(bio) if bio is not None else None,
            genres=parse_genres(genres) if genres is not None else [],
            links=parse_links(links) if links is not None else [],
        )


async def ensure_name_free(session: AsyncSession, guild_id: int, name: str, *, except_id: int | None = None) -> None:
    """Refuse a name another artist on the roster already has (any case)."""
    existing = await repository.active_by_name(session, guild_id, name)
    if existing is not None and existing.id != except_id:
        raise Conflict(f"There already is an artist called “{existing.name}” in this server.")


async def ensure_role_unused(
    session: AsyncSession, guild_id: int, role_id: int, *, except_id: int | None = None
) -> None:
    """Refuse a role that already is another artist's fan role."""
    owner = await session.scalar(
        select(Artist).where(Artist.guild_id == guild_id, Artist.fan_role_id == role_id, Artist.removed_at.is_(None))
    )
    if owner is not None and owner.id != except_id:
        raise Conflict(f"<@&{role_id}> already is the fan role of {owner.name}.")


async def fan_role_of(session: AsyncSession, guild_id: int, role_id: int) -> str | None:
    """Whose fan role this role is, in words ("the fan role of Nova Lights"), or None."""
    name = await session.scalar(
        select(Artist.name).where(
            Artist.guild_id == guild_id, Artist.fan_role_id == role_id, Artist.removed_at.is_(None)
        )
    )
    return None if name is None else f"the fan role of {name}"


async def add_artist(
    bot: LabelBot,
    session: AsyncSession,
    *,
    guild_id: int,
    actor_id: int,
    draft: ArtistDraft,
    fan_role_id: int | None,
    fan_role_created_by_bot: bool,
) -> Artist:
    """Put a new artist on the roster."""
    await ensure_name_free(session, guild_id, draft.name)
    if fan_role_id is not None:
        await ensure_role_unused(session, guild_id, fan_role_id)
    artist = Artist(
        guild_id=guild_id,
        name=draft.name,
        name_key=repository.name_key(draft.name),
        bio=draft.bio,
        genres=draft.genres,
        links=draft.links,
        fan_role_id=fan_role_id,
        fan_role_created_by_bot=fan_role_created_by_bot,
        created_by=actor_id,
    )
    session.add(artist)
    # Someone may have added the same name a moment ago, between the check above and this insert.
    await _flush_or_conflict(session, f"There already is an artist called “{draft.name}” in this server.")
    await record(
        bot,
        session,
        guild_id=guild_id,
        actor_id=actor_id,
        action="artist.add",
        target=draft.name,
        before=None,
        after=artist.snapshot(),
    )
    return artist


async def edit_artist(
    bot: LabelBot, session: AsyncSession, artist: Artist, *, actor_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply the changes (name, bio, genres, links, fan_role_id); return the fields that really changed."""
    changed = {field: value for field, value in changes.items() if getattr(artist, field) != value}
    if not changed:
        return {}
    if "name" in changed:
        await ensure_name_free(session, artist.guild_id, changed["name"], except_id=artist.id)
    if changed.get("fan_role_id") is not None:
        await ensure_role_unused(session, artist.guild_id, changed["fan_role_id"], except_id=artist.id)
    before = {field: getattr(artist, field) for field in changed}
    for field, value in changed.items():
        setattr(artist, field, value)
    if "name" in changed:
        artist.name_key = repository.name_key(artist.name)
    if "fan_role_id" in changed:
        # A role a moderator picked is theirs: the bot never deletes it.
        artist.fan_role_created_by_bot = False
    artist.updated_at = utcnow()
    await _flush_or_conflict(session, f"There already is an artist called “{artist.name}” in this server.")
    await record(
        bot,
        session,
        guild_id=artist.guild_id,
        actor_id=actor_id,
        action="artist.edit",
        target=artist.name,
        before={"id": artist.id, **before},
        after={"id": artist.id, **changed},
    )
    return changed


async def _flush_or_conflict(session: AsyncSession, message: str) -> None:
    """Flush in a savepoint; a unique key another writer took first becomes a Conflict with the message."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(message) from None


async def _record_manager_change(
    bot: LabelBot,
    session: AsyncSession,
    artist: Artist,
    *,
    actor_id: int,
    action: str,
    before: int | None,
    after: int | None,
) -> None:
    """The audit entry of a manager linked (before None) or unlinked (after None)."""
    await record(
        bot,
        session,
        guild_id=artist.guild_id,
        actor_id=actor_id,
        action=action,
        target=artist.name,
        before={"artist_id": artist.id, "manager_user_id": before},
        after={"artist_id": artist.id, "manager_user_id": after},
    )


async def link_manager(bot: LabelBot, session: AsyncSession, artist: Artist, *, actor_id: int, user_id: int) -> None:
    """Link a member to the artist as a manager."""
    taken = f"<@{user_id}> already manages {artist.name}."
    if await repository.get_manager(session, artist.id, user_id) is not None:
        raise Conflict(taken)
    session.add(ArtistManager(artist_id=artist.id, user_id=user_id, added_by=actor_id, added_at=utcnow()))
    await _flush_or_conflict(session, taken)
    await _record_manager_change(
        bot, session, artist, actor_id=actor_id, action="artist.link", before=None, after=user_id
    )


async def unlink_manager(bot: LabelBot, session: AsyncSession, artist: Artist, *, actor_id: int, user_id: int) -> None:
    """Unlink a member from the artist."""
    link = await repository.get_manager(session, artist.id, user_id)
    if link is None:
        raise NotFound(f"<@{user_id}> isn't a manager of {artist.name}.")
    await session.delete(link)
    await session.flush()
    await _record_manager_change(
        bot, session, artist, actor_id=actor_id, action="artist.unlink", before=user_id, after=None
    )


async def remove_artist(
    bot: LabelBot, session: AsyncSession, artist: Artist, *, actor_id: int, delete_fan_role: bool
) -> None:
    """Take the artist off the roster; the row, its managers and its history stay."""
    before = artist.snapshot()
    artist.removed_at = utcnow()
    artist.updated_at = artist.removed_at
    await session.flush()
    await record(
        bot,
        session,
        guild_id=artist.guild_id,
        actor_id=actor_id,
        action="artist.remove",
        target=artist.name,
        before=before,
        after={"id": artist.id, "removed": True, "fan_role_deleted": delete_fan_role},
    )
