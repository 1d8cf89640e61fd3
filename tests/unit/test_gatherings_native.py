"""Native scheduled-event mirroring: the requests it makes, the 100-event cap, status moves, recurrence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from labelbot.errors import Conflict
from labelbot.gatherings import native
from labelbot.gatherings.models import NativeStatus

# A year from today at 20:00 UTC: upcoming whenever the suite runs.
START = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0) + timedelta(days=365)


class RecordingHTTP:
    """Stands in for discord.py's HTTPClient: records what would be sent, answers like Discord."""

    def __init__(self, events: list[dict[str, Any]] | None = None, status: int = 1) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.events = events or []
        self.status = status

    async def request(self, route: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("raw", (route.method, route.path, route.url, kwargs.get("json"))))
        return {"id": "77"}

    async def create_guild_scheduled_event(self, guild_id: int, **payload: Any) -> dict[str, Any]:
        self.calls.append(("create", payload))
        return {"id": "55"}

    async def get_scheduled_events(self, guild_id: int, with_user_count: bool) -> list[dict[str, Any]]:
        return self.events

    async def get_scheduled_event(self, guild_id: int, event_id: int, with_user_count: bool) -> dict[str, Any]:
        return {"id": str(event_id), "status": self.status}

    async def edit_scheduled_event(self, guild_id: int, event_id: int, **payload: Any) -> dict[str, Any]:
        self.calls.append(("edit", payload))
        if "status" in payload:
            self.status = payload["status"]
        return {}


class StubBot:
    def __init__(self, http: RecordingHTTP) -> None:
        self.http = http


def bot_with(http: RecordingHTTP) -> discord.Client:
    return StubBot(http)  # type: ignore[return-value]


async def test_an_external_event_is_created_with_its_location_and_end() -> None:
    http = RecordingHTTP()
    created = await native.create_native_event(
        bot_with(http),
        1,
        name="x" * 150,
        description="d",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        place=native.NativePlace(location="#parties"),
    )
    assert created == 55
    ((kind, payload),) = http.calls
    assert kind == "create"
    assert len(payload["name"]) == native.NAME_MAX
    assert payload["entity_type"] == 3
    assert payload["entity_metadata"] == {"location": "#parties"}
    assert payload["scheduled_end_time"] == (START + timedelta(hours=1)).isoformat()


async def test_a_recurrence_rule_goes_through_the_raw_route() -> None:
    http = RecordingHTTP()
    rule = {"start": START.isoformat(), "frequency": 2, "interval": 1, "by_weekday": [2]}
    created = await native.create_native_event(
        bot_with(http),
        1,
        name="Weekly",
        description="",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        place=native.NativePlace(location="Online"),
        recurrence_rule=rule,
    )
    assert created == 77
    ((kind, (method, path, _url, body)),) = http.calls
    assert (kind, method, path) == ("raw", "POST", "/guilds/{guild_id}/scheduled-events")
    assert body["recurrence_rule"] == rule

    http.calls.clear()
    await native.edit_native_event(bot_with(http), 1, 9, name="Weekly (moved)", recurrence_rule=rule)
    ((kind, (method, path, url, body)),) = http.calls
    assert (kind, method) == ("raw", "PATCH")
    assert url.endswith("/guilds/1/scheduled-events/9")
    assert body == {"name": "Weekly (moved)", "recurrence_rule": rule}


async def test_a_server_with_100_upcoming_events_is_refused_before_anything_is_created() -> None:
    upcoming = [{"id": str(i), "status": 1 if i % 2 else 2} for i in range(100)]
    with pytest.raises(Conflict, match="100 upcoming events"):
        await native.ensure_room(bot_with(RecordingHTTP(upcoming)), 1)
    finished = [{"id": str(i), "status": 3} for i in range(150)]
    await native.ensure_room(bot_with(RecordingHTTP(finished + upcoming[:99])), 1)


async def test_completing_a_scheduled_event_starts_it_first_and_repeating_is_harmless() -> None:
    http = RecordingHTTP(status=1)
    assert await native.set_native_status(bot_with(http), 1, 9, NativeStatus.COMPLETED)
    assert [payload for _, payload in http.calls] == [{"status": 2}, {"status": 3}]
    http.calls.clear()
    assert await native.set_native_status(bot_with(http), 1, 9, NativeStatus.COMPLETED)
    assert http.calls == []


async def test_cancelling_an_active_event_ends_it_and_a_finished_one_stays() -> None:
    http = RecordingHTTP(status=2)
    assert await native.set_native_status(bot_with(http), 1, 9, NativeStatus.CANCELLED)
    assert [payload for _, payload in http.calls] == [{"status": 3}]
    http.calls.clear()
    assert not await native.set_native_status(bot_with(http), 1, 9, NativeStatus.ACTIVE)
    assert http.calls == []
