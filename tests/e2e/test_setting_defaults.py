"""Each feature registers its own server settings' defaults; /settings show tells what a server changed from them."""

from __future__ import annotations

from labelbot.guilds.models import GuildSettings
from tests.e2e.helpers import embed_fields, run
from tests.harness import BotHarness


async def test_show_lists_what_the_server_changed_from_each_features_defaults(harness: BotHarness) -> None:
    await harness.start()
    mod = harness.moderator

    fields = embed_fields(await run(harness, mod, "settings show"))
    assert fields["Changed from the defaults"] == "nothing: every feature setting is at its default"

    await run(harness, mod, "settings toggle", name="release_approval", enabled=True)
    await run(harness, mod, "settings limit", name="collab_daily_posts", value=7)
    changed = embed_fields(await run(harness, mod, "settings show"))["Changed from the defaults"]
    assert "Releases wait for a moderator's approval: on (default off)" in changed, changed
    assert "New collab requests per member a day: 7 (default 3)" in changed, changed
    assert "Public web page" not in changed, "a setting left alone is not listed"


async def test_every_feature_registers_the_defaults_a_new_server_starts_with(harness: BotHarness) -> None:
    bot = await harness.start()
    registry = bot.features.settings
    features = {feature for feature, _ in registry.sections()}
    assert {"releases", "collabs", "events", "parties", "fan_roles", "web_pages"} <= features
    fresh = GuildSettings(guild_id=harness.guild.id)
    for column, value in registry.defaults().items():
        assert getattr(fresh, column) == value, f"{column}: a new server reads {getattr(fresh, column)!r}"

    # A feature unloaded takes its section with it; loaded again, it is back.
    await bot.unload_extension("labelbot.features.collabs")
    assert "collabs" not in {feature for feature, _ in registry.sections()}
    await bot.load_extension("labelbot.features.collabs")
    assert "collab_daily_posts" in registry.defaults()
