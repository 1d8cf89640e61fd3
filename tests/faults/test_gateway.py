"""A party keeps its timing through INVALID_SESSION and a burst of gateway drops: no prompt missing or twice.

(tests/e2e/test_parties.py already covers one resumable drop; this covers a non-resumable session and a burst.)
"""

from __future__ import annotations

import asyncio

from tests.faults.helpers import (
    PARTY_FEATURES,
    bot_messages,
    is_recap,
    only_features,
    run,
    set_parties_channel,
)
from tests.harness import BotHarness


async def test_invalid_session_and_a_burst_of_drops_during_a_party_miss_and_repeat_nothing(
    harness: BotHarness,
) -> None:
    h = harness
    only_features(h, PARTY_FEATURES)
    await h.start()
    parties = await set_parties_channel(h)
    reply = await run(
        h,
        h.moderator,
        "party schedule",
        title="Static",
        start="in 6 seconds",
        tracklist="One - 0:04 | Two - 0:04 | Three - 0:04",
        reminders="none",
    )
    assert "Scheduled" in reply.content, reply.content
    identifies, resumes = h.fake.gateway.identify_count, h.fake.gateway.resume_count

    # Before the start: the session is invalidated (not resumable); discord.py identifies again after ~5 s.
    await h.fake.invalidate_session(resumable=False)
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=30)
    await h.fake.wait_until(lambda: any(t.id == play.id for t in h.guild.threads), timeout=10, what="thread")

    def prompts() -> list[str]:
        return [m.content for m in bot_messages(h, play.id) if m.content.startswith("🎵")]

    # During track 1: three drops in a row, each resumed.
    await h.fake.wait_until(lambda: len(prompts()) >= 1, timeout=20, what="track 1")
    for _ in range(3):
        await h.fake.wait_until_connected(timeout=20)
        await h.fake.drop_gateway(resumable=True)
        await asyncio.sleep(0.3)
    # During track 2: a resumable INVALID_SESSION.
    await h.fake.wait_until(lambda: len(prompts()) >= 2, timeout=20, what="track 2")
    await h.fake.wait_until_connected(timeout=20)
    await h.fake.invalidate_session(resumable=True)

    recap = await h.fake.wait_for_message(parties, is_recap, timeout=60)
    await h.fake.wait_until_connected(timeout=20)
    assert h.fake.gateway.identify_count > identifies, "the session was never re-identified"
    assert h.fake.gateway.resume_count >= resumes + 3, "the drops were never resumed"

    titles = [p.split("**")[1] for p in prompts()]
    assert titles == ["Track 1/3: One", "Track 2/3: Two", "Track 3/3: Three"], prompts()
    assert not any("skipped the prompts" in p for p in prompts())
    assert not [f for e in recap.embeds for f in e.get("fields", []) if f["name"] == "Missed"]
    assert len([m for m in bot_messages(h, parties) if "Press play now" in m.content]) == 1
    assert len([m for m in bot_messages(h, parties) if is_recap(m)]) == 1
    # And the bot still answers commands after all that.
    assert "Labelbot" in (await run(h, h.moderator, "about")).text
