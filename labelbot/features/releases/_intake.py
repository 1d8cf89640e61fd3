"""Releases sent by a label's website or distributor through the signed webhook `POST /hooks/releases`.

The body is checked by the same rules as `/release create`; a release is created and scheduled at once (the sender
holds a secret only moderators can issue, so no approval step), and a later delivery with the same `id` and a new
body edits that release. Problems come back to the sender as a 422 list, one "field: sentence" each.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.repository import active_by_name
from labelbot.catalog.models import ReleaseKind
from labelbot.db.base import utcnow
from labelbot.errors import UserFacingError
from labelbot.features.releases import _parsing as parsing
from labelbot.features.releases import _service as service
from labelbot.guilds.service import peek_guild_settings
from labelbot.timeparse import TimeParseError, parse_zone
from labelbot.web.hooks import Delivery, HookRejected
from labelbot.web.models import WebhookDelivery

if TYPE_CHECKING:
    from labelbot.client import LabelBot

HOOK = "releases"


class TrackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    duration: str | None = Field(default=None, description='"3:45" or "1:02:03"')


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    label: str | None = None


class ReleaseBody(BaseModel):
    """What a sender posts; `release_at` is ISO 8601 with an offset, `zone` the IANA zone it was meant in."""

    model_config = ConfigDict(extra="forbid")

    id: str | int
    artist: str
    title: str
    release_at: AwareDatetime
    zone: str = "UTC"
    kind: ReleaseKind = ReleaseKind.SINGLE
    description: str | None = None
    cover_url: str | None = None
    links: list[LinkBody] = Field(default_factory=list)
    tracks: list[TrackBody] = Field(default_factory=list)


def _checked(field: str, check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except (UserFacingError, TimeParseError) as error:
        raise HookRejected([f"{field}: {error}"]) from None


def release_input(body: ReleaseBody, now: datetime) -> service.ReleaseInput:
    """The body as a checked ReleaseInput, or HookRejected naming the field."""
    if body.release_at <= now:
        raise HookRejected(["release_at: that time has already passed"])
    tracklist = "\n".join(
        f"{number}. {track.title}" + (f" {track.duration}" if track.duration else "")
        for number, track in enumerate(body.tracks, start=1)
    )
    links = "\n".join(f"{link.label or ''} {link.url}".strip() for link in body.links)
    return service.ReleaseInput(
        title=_checked("title", parsing.check_title, body.title),
        kind=body.kind,
        release_at=body.release_at.astimezone(now.tzinfo),
        zone=_checked("zone", parse_zone, body.zone),
        cover_url=_checked("cover_url", parsing.check_cover_url, body.cover_url) if body.cover_url else None,
        description=_checked("description", parsing.check_description, body.description),
        links=_checked("links", parsing.parse_links, links),
        tracks=_checked("tracks", parsing.parse_tracklist, tracklist),
    )


async def _earlier_release_id(session: AsyncSession, delivery: Delivery) -> int | None:
    response = await session.scalar(
        select(WebhookDelivery.response).where(
            WebhookDelivery.guild_id == delivery.guild_id,
            WebhookDelivery.hook == HOOK,
            WebhookDelivery.external_id == delivery.external_id,
        )
    )
    release_id = ((response or {}).get("result") or {}).get("release_id")
    return int(release_id) if release_id is not None else None


def intake(bot: LabelBot) -> Any:
    """The handler the webhook registry calls for `POST /hooks/releases`."""

    async def receive(session: AsyncSession, delivery: Delivery) -> dict[str, Any]:
        try:
            body = ReleaseBody.model_validate(delivery.body)
        except ValidationError as error:
            raise HookRejected.from_validation(error) from None
        data = release_input(body, utcnow())
        artist = await active_by_name(session, delivery.guild_id, body.artist)
        if artist is None:
            raise HookRejected([f"artist: there is no artist called {body.artist!r} in this server"])
        # Changes made through the webhook are the bot's own in the audit trail (the sender has no member).
        actor_id = bot.user.id if bot.user else 0
        settings = await peek_guild_settings(session, delivery.guild_id)
        try:
            earlier = None if delivery.first else await _earlier_release_id(session, delivery)
            if earlier is None:
                release = await service.create_draft(
                    bot, session, settings=settings, artist=artist, actor_id=actor_id, data=data
                )
                await service.submit(
                    bot, session, release, settings=settings, actor_id=actor_id, actor_is_moderator=True
                )
            else:
                release = await service.load_release(session, delivery.guild_id, earlier)
                if release.artist_id != artist.id:
                    raise HookRejected(["artist: a release's artist can't change; send it under a new id"])
                changes = service.ReleaseChanges(
                    title=data.title,
                    kind=data.kind,
                    release_at=data.release_at if data.release_at != release.release_at else None,
                    zone=data.zone,
                    cover_url=data.cover_url,
                    description=data.description,
                    clear_description=data.description is None,
                    links=data.links,
                    tracks=data.tracks,
                )
                await service.edit(bot, session, release, changes, settings=settings, actor_id=actor_id)
        except UserFacingError as error:
            raise HookRejected([f"release: {error}"]) from None
        return {"release_id": release.id, "status": release.status}

    return receive
