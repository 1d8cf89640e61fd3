"""The collab board's rules against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db.base import utcnow
from labelbot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from labelbot.features.collabs import _service as service
from labelbot.models.collabs import AlertVia, CollabAlert, CollabRequest, RequestStatus

GUILD = 1000
POSTER = 1


def draft(**overrides: object) -> service.RequestDraft:
    values: dict[str, object] = {
        "title": "Looking for a mixing engineer",
        "needed": "Four tracks.",
        "genre": "dream pop",
        "deadline_at": None,
        "deadline_zone": None,
        "compensation": "paid",
        "skill_ids": [1],
        "lifetime": timedelta(days=30),
    }
    values.update(overrides)
    return service.check_draft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"title": "  "}, "Give the request a title."),
        ({"title": "x" * 101}, "at most 100"),
        ({"needed": ""}, "Say what is needed."),
        ({"needed": "x" * 1001}, "at most 1000"),
        ({"genre": "x" * 201}, "at most 200"),
        ({"skill_ids": []}, "at least one skill"),
        ({"compensation": "beer"}, "Compensation is one of"),
        ({"deadline_at": utcnow() - timedelta(minutes=1)}, "in the past"),
    ],
)
def test_check_draft_refuses_bad_input(overrides: dict[str, object], sentence: str) -> None:
    with pytest.raises(InvalidInput, match=sentence):
        draft(**overrides)


def test_warning_comes_three_days_before_or_halfway_through_short_lives() -> None:
    assert service.warning_lead(timedelta(days=30)) == timedelta(days=3)
    assert service.warning_lead(timedelta(seconds=6)) == timedelta(seconds=3)


async def test_default_skills_and_moderator_edits(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as session:
        names = [skill.name for skill in await service.skills(session, GUILD)]
        assert len(names) == len(service.DEFAULT_SKILLS)
        assert "mixing engineer" in names
        await service.add_skill(session, GUILD, "Sound  Designer")
        with pytest.raises(Conflict):
            await service.add_skill(session, GUILD, "sound designer")
        await service.remove_skill(session, GUILD, "SOUND DESIGNER")
        with pytest.raises(NotFound):
            await service.find_skill(session, GUILD, "sound designer")
        again = await service.add_skill(session, GUILD, "sound designer")
        assert not again.removed
        for n in range(service.MAX_SKILLS - len(service.DEFAULT_SKILLS) - 1):
            await service.add_skill(session, GUILD, f"skill {n}")
        with pytest.raises(Conflict, match="full"):
            await service.add_skill(session, GUILD, "one too many")
        # Another server has its own list.
        assert len(await service.skills(session, GUILD + 1)) == len(service.DEFAULT_SKILLS)


async def test_alerts_only_opted_in_matching_members_within_the_daily_cap(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        mixing = await service.find_skill(session, GUILD, "mixing engineer")
        drums = await service.find_skill(session, GUILD, "drummer")
        for user_id, skill, alerts, via in [
            (POSTER, mixing, True, "dm"),
            (2, mixing, True, "dm"),
            (3, mixing, True, "board"),
            (4, drums, True, "dm"),
            (5, mixing, False, "dm"),
        ]:
            await service.update_profile(session, GUILD, user_id, alerts=alerts, alert_via=via)
            await service.set_member_skills(session, GUILD, user_id, [skill.id])
        await service.mark_dms_closed(session, GUILD, 3)

        async def post(title: str) -> CollabRequest:
            request = await service.create_request(
                session,
                draft(title=title, skill_ids=[mixing.id]),
                guild_id=GUILD,
                poster_id=POSTER,
                needs_approval=False,
                origin_channel_id=None,
            )
            request.published_at = utcnow()
            return request

        first = await service.choose_alerts(session, await post("one"), daily_cap=2)
        assert first == [service.AlertRecipient(2, AlertVia.DM), service.AlertRecipient(3, AlertVia.BOARD)]
        assert len(await service.choose_alerts(session, await post("two"), daily_cap=2)) == 2
        assert await service.choose_alerts(session, await post("three"), daily_cap=2) == []
        count = await session.scalar(select(func.count()).select_from(CollabAlert))
        assert count == 4


async def test_interest_rules(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as session:
        skill = await service.find_skill(session, GUILD, "vocalist")
        request = await service.create_request(
            session,
            draft(skill_ids=[skill.id]),
            guild_id=GUILD,
            poster_id=POSTER,
            needs_approval=False,
            origin_channel_id=None,
        )
        with pytest.raises(NotAllowed):
            await service.register_interest(session, request, POSTER)
        await service.register_interest(session, request, 2)
        with pytest.raises(Conflict):
            await service.register_interest(session, request, 2)
        await service.check_may_post(session, GUILD, POSTER, max_open=2, daily_posts=10)
        with pytest.raises(Conflict, match="already have 1 open request"):
            await service.check_may_post(session, GUILD, POSTER, max_open=1, daily_posts=10)
        service.close(request, status=RequestStatus.CLOSED, actor_id=POSTER, filled_by=None)
        with pytest.raises(Conflict, match="no longer open"):
            await service.register_interest(session, request, 3)
        await service.check_may_post(session, GUILD, POSTER, max_open=1, daily_posts=10)
